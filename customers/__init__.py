"""The core of the CRM: the customer file, roles and record-level access."""
