"""Writes to the customer file. Each runs in one transaction and returns what it made."""

from django.db import transaction
from django.utils import timezone

from customers import contact_log, history, numbering
from customers.models import Complaint, Contact, Customer, Document, Interaction, OpenIssue, Team


def team_of(user):
    """The team a user's new customers belong to: the first they sell for, else manage."""
    return (
        Team.objects.filter(members=user).order_by("pk").first()
        or Team.objects.filter(managers=user).order_by("pk").first()
    )


@transaction.atomic
def customer_create(*, form, by) -> Customer:
    """Save a new customer from a valid CustomerForm, owned by its creator."""
    customer = form.save(commit=False)
    customer.owner = by
    customer.team = team_of(by)
    customer.parent = form.cleaned_data.get("parent_ref")
    if not customer.external_ref:
        customer.external_ref = numbering.next_reference()
    customer.save()
    form.save_m2m()
    return customer


@transaction.atomic
def customer_update(*, form, by) -> Customer:
    """Save edits from a valid CustomerForm; the history shows what changed."""
    history.baseline_record(form.instance)
    customer = form.save(commit=False)
    customer.parent = form.cleaned_data.get("parent_ref")
    customer.save()
    form.save_m2m()
    return customer


@transaction.atomic
def customer_reassign(*, customer, to, by, reason) -> Customer:
    """Hand the customer to another rep; the history keeps who, when and why."""
    team = customer.team
    if team is None or not (
        team.members.filter(pk=to.pk).exists() or team.managers.filter(pk=to.pk).exists()
    ):
        team = team_of(to)
    history.baseline_record(customer)
    customer.owner, customer.team = to, team
    customer._change_reason = reason
    customer.save(update_fields=["owner", "team", "updated_at"])
    return customer


@transaction.atomic
def contact_add(*, customer, form, by) -> Contact:
    """Add a contact person; a new primary contact replaces the previous one."""
    contact = form.save(commit=False)
    contact.customer = customer
    if contact.is_primary:
        customer.contacts.filter(is_primary=True).update(is_primary=False)
    contact.save()
    return contact


def interaction_log(*, customer, form, by) -> Interaction:
    """Record a contact with the customer, made by `by`."""
    interaction = form.save(commit=False)
    interaction.customer, interaction.staff = customer, by
    return contact_log.interaction_save(interaction)


def complaint_record(*, customer, form, by) -> Complaint:
    complaint = form.save(commit=False)
    complaint.customer, complaint.received_by = customer, by
    complaint.save()
    return complaint


@transaction.atomic
def complaint_update(*, form, by) -> Complaint:
    """Move a complaint along its workflow; resolving stamps who and when."""
    complaint = form.save(commit=False)
    if complaint.status == Complaint.Status.RESOLVED:
        if form.current_status != Complaint.Status.RESOLVED:
            complaint.resolved_at, complaint.resolved_by = timezone.now(), by
    else:
        complaint.resolved_at = complaint.resolved_by = None
        complaint.satisfaction = None
    complaint.save()
    return complaint


def document_attach(*, customer, form, by) -> Document:
    """Store an uploaded copy of an ID card or licence under a generated name."""
    document = form.save(commit=False)
    upload = form.cleaned_data["file"]
    document.customer, document.uploaded_by = customer, by
    document.original_name = upload.name[:255]
    document.size = upload.size
    document.save()
    return document


def issue_open(*, customer, form, by) -> OpenIssue:
    issue = form.save(commit=False)
    issue.customer, issue.opened_by = customer, by
    issue.save()
    return issue


def issue_close(*, issue, resolution, by) -> OpenIssue:
    issue.status = OpenIssue.Status.CLOSED
    issue.resolution, issue.closed_by, issue.closed_at = resolution, by, timezone.now()
    issue.save(update_fields=["status", "resolution", "closed_by", "closed_at"])
    return issue
