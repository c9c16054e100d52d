"""Points membership (积分会员制): members, the points ledger and tiers."""
