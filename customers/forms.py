import re

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.urls import reverse_lazy
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from customers import duplicates, network, people, selectors
from customers.models import Complaint, Contact, Customer, Document, Interaction, OpenIssue
from customers.people import PersonChoiceField, by_name
from customers.widgets import SupplierSearchInput

PHONE_RE = re.compile(r"^\+?[0-9][0-9 \-]{4,24}$")
DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")

# The network runs company → general distributor → wholesaler → terminal; a
# customer is supplied by someone further up.
SUPPLIER_ROLES = {
    Customer.ChannelRole.GENERAL_DISTRIBUTOR: set(),
    Customer.ChannelRole.WHOLESALER: {Customer.ChannelRole.GENERAL_DISTRIBUTOR},
    Customer.ChannelRole.TERMINAL: {
        Customer.ChannelRole.GENERAL_DISTRIBUTOR,
        Customer.ChannelRole.WHOLESALER,
    },
    Customer.ChannelRole.CONSUMER: {
        Customer.ChannelRole.GENERAL_DISTRIBUTOR,
        Customer.ChannelRole.WHOLESALER,
        Customer.ChannelRole.TERMINAL,
    },
}


def clean_phone(value):
    value = (value or "").strip()
    if value and not PHONE_RE.match(value):
        raise forms.ValidationError(
            _("Enter a phone number of digits, spaces or dashes, e.g. 138 0013 8000.")
        )
    return value


class CustomerForm(forms.ModelForm):
    parent_ref = forms.CharField(
        label=_("Supplied by"),
        required=False,
        help_text=_(
            "Type part of the name or reference of the distributor or wholesaler this "
            "customer buys through, then pick it."
        ),
    )

    class Meta:
        model = Customer
        fields = [
            "name",
            "external_ref",
            "kind",
            "channel_role",
            "terminal_type",
            "region",
            "address",
            "phone",
            "email",
            "source",
            "tags",
            "notes",
        ]
        widgets = {
            "tags": forms.CheckboxSelectMultiple,
            "notes": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        # Likely duplicates found on the last check; the page offers to save anyway.
        self.duplicates = duplicates.Matches()
        self.fields["external_ref"].required = False
        self.fields["external_ref"].help_text = _("Left empty, one is assigned.")
        self.fields["parent_ref"].widget = SupplierSearchInput(
            search_url=reverse_lazy("supplier-search"), exclude=self.instance.pk
        )
        self.hidden_parent = None
        if self.instance.pk and self.instance.parent_id:
            parent = self.instance.parent
            if selectors.visible_customers(user).filter(pk=parent.pk).exists():
                self.fields["parent_ref"].initial = parent.external_ref
            else:
                self._offer_hidden_parent(parent)

    def _offer_hidden_parent(self, parent):
        """A supplier the user may not see is named, read-only, and kept unless the user
        picks one they can see or removes it: of another team's customer a rep learns the
        name on the file and nothing more."""
        self.hidden_parent = parent
        fields = list(self.fields.items())
        at = next(i for i, (name, _field) in enumerate(fields) if name == "parent_ref")
        current = forms.CharField(
            label=_("Supplied by"),
            initial=parent.name,
            required=False,
            disabled=True,
            help_text=_("A customer you cannot see: only its name is shown."),
        )
        remove = forms.BooleanField(
            label=_("No longer supplied by %(name)s") % {"name": parent.name}, required=False
        )
        fields[at:at] = [("current_parent", current)]
        fields.append(("remove_parent", remove))
        self.fields = dict(fields)
        self.fields["parent_ref"].label = _("Change the supplier (customer reference)")
        self.fields["parent_ref"].help_text = _(
            "Leave empty to keep the current supplier, or enter the reference of a "
            "distributor or wholesaler you can see."
        )

    def clean_phone(self):
        return clean_phone(self.cleaned_data.get("phone"))

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError(_("Enter the customer's name."))
        return name

    def clean_parent_ref(self):
        ref = self.cleaned_data.get("parent_ref", "").strip()
        if not ref:
            return None
        parent = selectors.supplier_by_ref_or_name(self.user, ref)
        if parent is None:
            raise forms.ValidationError(
                _("No customer you can see has the reference %(ref)s."), params={"ref": ref}
            )
        if network.creates_cycle(self.instance.pk, parent.pk):
            raise forms.ValidationError(network.SUPPLIER_CYCLE)
        return parent

    def clean(self):
        cleaned = super().clean()
        role = cleaned.get("channel_role")
        if self._keeps_hidden_parent(cleaned):
            cleaned["parent_ref"] = self.hidden_parent
        parent = cleaned.get("parent_ref")
        if cleaned.get("terminal_type") and role != Customer.ChannelRole.TERMINAL:
            self.add_error("terminal_type", _("Only terminals have a terminal type."))
        if parent is not None and role and parent.channel_role not in SUPPLIER_ROLES[role]:
            if parent == self.hidden_parent:
                message = _(
                    "A %(role)s cannot be supplied by %(name)s; remove that supplier or "
                    "enter another."
                ) % {"role": Customer.ChannelRole(role).label, "name": parent.name}
            else:
                message = _("A %(role)s cannot be supplied by a %(parent_role)s.") % {
                    "role": Customer.ChannelRole(role).label,
                    "parent_role": parent.get_channel_role_display(),
                }
            self.add_error("parent_ref", message)
        self._check_duplicates(cleaned)
        return cleaned

    def _check_duplicates(self, cleaned):
        """Refuse, once, to save a customer that looks like one already recorded: the user
        looks at the matches they may see and saves anyway (`save_anyway`) or goes there."""
        self.duplicates = duplicates.form_duplicates(self, cleaned, self.user)
        if self.duplicates:
            raise forms.ValidationError(
                _(
                    "This customer looks like one already recorded (same phone, or the same "
                    "name in the same region). Open the existing file, or save anyway."
                ),
                code="duplicate",
            )

    def _keeps_hidden_parent(self, cleaned):
        return (
            self.hidden_parent is not None
            and "parent_ref" not in self.errors
            and cleaned.get("parent_ref") is None
            and not cleaned.get("remove_parent")
        )


class ContactForm(forms.ModelForm):
    class Meta:
        model = Contact
        fields = ["name", "title", "phone", "email", "wechat", "is_primary"]

    def clean_phone(self):
        return clean_phone(self.cleaned_data.get("phone"))


class InteractionForm(forms.ModelForm):
    class Meta:
        model = Interaction
        fields = ["channel", "occurred_at", "summary", "outcome", "next_follow_up"]
        widgets = {
            "occurred_at": forms.DateTimeInput(
                attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"
            ),
            "summary": forms.Textarea(attrs={"rows": 4}),
            "next_follow_up": DATE_INPUT,
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["occurred_at"].initial = timezone.localtime().replace(second=0, microsecond=0)

    def clean_occurred_at(self):
        occurred_at = self.cleaned_data["occurred_at"]
        if occurred_at > timezone.now() + timezone.timedelta(minutes=5):
            raise forms.ValidationError(_("An interaction cannot be logged in the future."))
        return occurred_at

    def clean_summary(self):
        summary = self.cleaned_data["summary"].strip()
        if not summary:
            raise forms.ValidationError(_("Say in a few words what was discussed."))
        return summary

    def clean(self):
        cleaned = super().clean()
        occurred_at, follow_up = cleaned.get("occurred_at"), cleaned.get("next_follow_up")
        if occurred_at and follow_up and follow_up < timezone.localtime(occurred_at).date():
            self.add_error(
                "next_follow_up", _("The next follow-up cannot be before the interaction.")
            )
        return cleaned


class ComplaintForm(forms.ModelForm):
    class Meta:
        model = Complaint
        fields = ["subject", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 4})}


class ComplaintUpdateForm(forms.ModelForm):
    """Moves a complaint along its workflow; resolving needs a resolution."""

    class Meta:
        model = Complaint
        fields = ["status", "resolution", "satisfaction"]
        widgets = {
            "resolution": forms.Textarea(attrs={"rows": 3}),
            "satisfaction": forms.NumberInput(attrs={"min": 1, "max": 5}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.current_status = self.instance.status

    def clean(self):
        cleaned = super().clean()
        status = cleaned.get("status")
        if (
            status
            and status != self.current_status
            and status not in Complaint.TRANSITIONS.get(self.current_status, set())
        ):
            self.add_error(
                "status",
                _("A complaint that is %(current)s cannot become %(new)s.")
                % {
                    "current": Complaint.Status(self.current_status).label,
                    "new": Complaint.Status(status).label,
                },
            )
        if status == Complaint.Status.RESOLVED and not cleaned.get("resolution", "").strip():
            self.add_error("resolution", _("Describe how the complaint was resolved."))
        if cleaned.get("satisfaction") and status != Complaint.Status.RESOLVED:
            self.add_error(
                "satisfaction", _("Satisfaction is asked only once the complaint is resolved.")
            )
        return cleaned


# File signatures, so that a renamed executable is not accepted as a scan.
MAGIC_BYTES = {
    "pdf": (b"%PDF",),
    "png": (b"\x89PNG\r\n\x1a\n",),
    "jpg": (b"\xff\xd8\xff",),
    "jpeg": (b"\xff\xd8\xff",),
}


class DocumentForm(forms.ModelForm):
    class Meta:
        model = Document
        fields = ["doc_type", "file", "expires_on"]
        widgets = {"expires_on": DATE_INPUT}

    def clean_file(self):
        upload = self.cleaned_data["file"]
        extension = upload.name.rsplit(".", 1)[-1].lower() if "." in upload.name else ""
        allowed = settings.DOCUMENT_EXTENSIONS
        if extension not in allowed:
            raise forms.ValidationError(
                _("Upload a %(types)s file.") % {"types": ", ".join(allowed).upper()}
            )
        if upload.size > settings.DOCUMENT_MAX_BYTES:
            raise forms.ValidationError(
                _("The file is %(size)s; the limit is %(limit)s.")
                % {
                    "size": filesizeformat(upload.size),
                    "limit": filesizeformat(settings.DOCUMENT_MAX_BYTES),
                }
            )
        head = upload.read(16)
        upload.seek(0)
        if not head.startswith(MAGIC_BYTES.get(extension, (b"",))):
            raise forms.ValidationError(
                _("The file's content is not a %(type)s.") % {"type": extension.upper()}
            )
        return upload


class OpenIssueForm(forms.ModelForm):
    class Meta:
        model = OpenIssue
        fields = ["title", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}


class IssueCloseForm(forms.Form):
    resolution = forms.CharField(
        label=_("How was it resolved?"), widget=forms.Textarea(attrs={"rows": 3})
    )


class ReassignForm(forms.Form):
    owner = PersonChoiceField(label=_("New owner"), queryset=None)
    reason = forms.CharField(label=_("Reason"), max_length=200)

    def __init__(self, *args, user, customer, **kwargs):
        super().__init__(*args, **kwargs)
        self.customer = customer
        self.fields["owner"].queryset = by_name(people.assignable_users(user))

    def clean_owner(self):
        owner = self.cleaned_data["owner"]
        if owner.pk == self.customer.owner_id:
            raise forms.ValidationError(_("This person already owns the customer."))
        return owner
