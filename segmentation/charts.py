"""Chart geometry for the dashboard, drawn server-side as inline SVG: pure functions."""

PARETO_SIZE = 200  # the curve is drawn in a PARETO_SIZE × PARETO_SIZE box
SPARK_WIDTH, SPARK_HEIGHT = 100, 20


def _number(value):
    return f"{value:.1f}".rstrip("0").rstrip(".")


def pareto_path(curve, size=PARETO_SIZE):
    """SVG path data of a Pareto curve (shares at evenly spaced customer fractions), with the
    origin at the bottom left."""
    if len(curve) < 2:
        return ""
    last = len(curve) - 1
    points = (
        f"{_number(size * index / last)},{_number(size * (1 - share))}"
        for index, share in enumerate(curve)
    )
    return "M" + " L".join(points)


def pareto_marker(customer_share, revenue_share, size=PARETO_SIZE):
    """Coordinates of a point of the curve (e.g. top 20 % → their share of revenue)."""
    return {"x": _number(size * customer_share), "y": _number(size * (1 - revenue_share))}


def sparkline(values, width=SPARK_WIDTH, height=SPARK_HEIGHT, bounds=None):
    """SVG polyline points of a series, oldest first, scaled to `bounds` (low, high) or else
    to its own range; one value or a flat series draws a level line in the middle."""
    values = [float(value) for value in values]
    if not values:
        return ""
    low, high = bounds or (min(values), max(values))
    if len(values) == 1:
        values = values * 2
    step = width / (len(values) - 1)
    span = high - low
    return " ".join(
        f"{_number(index * step)},"
        f"{_number(height / 2 if span == 0 else height - (value - low) / span * height)}"
        for index, value in enumerate(values)
    )


def heat(count, highest):
    """Background intensity 0–1 of a heat-map cell."""
    return round(count / highest, 2) if highest else 0.0
