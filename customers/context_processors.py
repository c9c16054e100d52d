from customers.access import can_run_pipeline, is_manager


def roles(request):
    user = request.user
    return {
        "user_is_manager": is_manager(user),
        "user_can_run_pipeline": user.is_authenticated and can_run_pipeline(user),
    }
