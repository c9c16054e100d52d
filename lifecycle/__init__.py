"""Five-stage customer lifecycle (客户生命周期): stages, their history and playbooks."""
