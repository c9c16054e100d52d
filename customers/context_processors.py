from customers.access import can_see_runs, is_manager


def roles(request):
    user = request.user
    return {
        "user_is_manager": is_manager(user),
        "user_sees_runs": user.is_authenticated and can_see_runs(user),
    }
