"""The demo logins: an admin, a manager per sales team and their reps."""

from dataclasses import dataclass

import numpy as np

from customers.demo.common import pick

DEFAULT_PASSWORD = "demo12345"
TEAMS = ("华东销售一部", "华南销售二部", "华北销售三部")


@dataclass(frozen=True)
class StaffMember:
    username: str
    last_name: str
    first_name: str
    role: str  # "admin", "manager" or "rep"
    team: str = ""
    # Reps: relative share of their team's customers they own.
    share: float = 0.0


STAFF = (
    StaffMember("admin", "陈", "建国", "admin"),
    StaffMember("manager", "张", "伟", "manager", TEAMS[0]),
    StaffMember("manager2", "黄", "丽华", "manager", TEAMS[1]),
    StaffMember("manager3", "赵", "志强", "manager", TEAMS[2]),
    StaffMember("rep1", "王", "芳", "rep", TEAMS[0], 0.45),
    StaffMember("rep3", "刘", "洋", "rep", TEAMS[0], 0.2),
    StaffMember("rep4", "杨", "静", "rep", TEAMS[0], 0.2),
    StaffMember("rep5", "周", "磊", "rep", TEAMS[0], 0.15),
    StaffMember("rep2", "李", "娜", "rep", TEAMS[1], 0.45),
    StaffMember("rep6", "吴", "敏", "rep", TEAMS[1], 0.2),
    StaffMember("rep7", "郑", "浩", "rep", TEAMS[1], 0.2),
    StaffMember("rep8", "孙", "婷", "rep", TEAMS[1], 0.15),
    StaffMember("rep9", "徐", "刚", "rep", TEAMS[2], 0.4),
    StaffMember("rep10", "马", "丽", "rep", TEAMS[2], 0.3),
    StaffMember("rep11", "朱", "军", "rep", TEAMS[2], 0.3),
)


def owners(rng, team):
    """A rep of the customer's team, weighted so that rep1 and rep2 own a good share."""
    owner = np.empty(len(team), dtype=object)
    for t, name in enumerate(TEAMS):
        reps = [m for m in STAFF if m.role == "rep" and m.team == name]
        rows = np.flatnonzero(team == t)
        picks = pick(rng, [m.share for m in reps], len(rows))
        owner[rows] = np.array([m.username for m in reps], dtype=object)[picks]
    return owner
