"""RFM scores and 80/20 value tiers (价值分层), computed nightly."""
