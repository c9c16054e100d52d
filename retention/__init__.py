"""Churn risk (流失预警), the managers' risk list, follow-up plans and win-back."""
