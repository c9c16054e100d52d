from django.urls import path

from customers.views import customers, imports, network, pipeline, records

urlpatterns = [
    path("", customers.home, name="home"),
    path("dashboard/", customers.dashboard, name="dashboard"),
    path("follow-ups/", customers.follow_up_list, name="follow-up-list"),
    path("customers/", customers.customer_list, name="customer-list"),
    path("customers/export/", customers.customer_export, name="customer-export"),
    path("customers/new/", customers.customer_create, name="customer-create"),
    path("customers/suppliers/", customers.supplier_search, name="supplier-search"),
    path("customers/<int:pk>/", customers.customer_detail, name="customer-detail"),
    path("customers/<int:pk>/network/", network.network_tree, name="customer-network"),
    path("network/", network.network_index, name="network"),
    path("customers/<int:pk>/edit/", customers.customer_edit, name="customer-edit"),
    path("customers/<int:pk>/reassign/", customers.customer_reassign, name="customer-reassign"),
    path(
        "customers/<int:pk>/records/<slug:kind>/",
        records.customer_records,
        name="customer-records",
    ),
    path("customers/<int:pk>/contacts/new/", records.contact_create, name="contact-create"),
    path(
        "customers/<int:pk>/interactions/new/",
        records.interaction_create,
        name="interaction-create",
    ),
    path("customers/<int:pk>/complaints/new/", records.complaint_create, name="complaint-create"),
    path(
        "customers/<int:pk>/complaints/<int:complaint_pk>/",
        records.complaint_update,
        name="complaint-update",
    ),
    path("customers/<int:pk>/documents/new/", records.document_upload, name="document-upload"),
    path(
        "customers/<int:pk>/documents/<int:document_pk>/",
        records.document_download,
        name="document-download",
    ),
    path("customers/<int:pk>/issues/new/", records.issue_create, name="issue-create"),
    path(
        "customers/<int:pk>/issues/<int:issue_pk>/close/", records.issue_close, name="issue-close"
    ),
    path("imports/", imports.import_upload, name="import-upload"),
    path("imports/start/", imports.import_start, name="import-start"),
    path("imports/<int:pk>/", imports.import_job, name="import-job"),
    path("imports/<int:pk>/rejects/", imports.import_rejects, name="import-rejects"),
    path("imports/<int:pk>/again/", imports.import_again, name="import-again"),
    path("pipeline/", pipeline.run_list, name="pipeline-runs"),
    path("pipeline/<int:pk>/", pipeline.run_detail, name="pipeline-run-detail"),
    path("pipeline/<int:pk>/close/", pipeline.run_close, name="pipeline-run-close"),
]
