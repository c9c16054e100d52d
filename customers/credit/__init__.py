"""Credit grades A/B/C/D (信用等级): the rule (`rule`), the nightly step (`step`),
an admin's changes (`services`) and what the pages read (`selectors`)."""
