"""The CDNOW side of ``bench/cdnow.py``, run INSIDE the throwaway ``lifetimes`` virtual environment (never imported by
the project: ``lifetimes`` 0.11.3 and its old pandas are not dependencies of ours; docs/decisions/0032).

It reads the CDNOW sample that ships inside the ``lifetimes`` wheel (``lifetimes/datasets/CDNOW_sample.txt``: 6,919
lines, one a transaction as the file holds it, of 2,357 customers who made their first purchase in the first quarter
of 1997; columns: the master file's customer id, the sample's customer id 1..2357, the date YYYYMMDD, the number of CDs
and the dollars paid) and writes into ``--out``:

- ``actions_all.jsonl`` and ``actions_calibration.jsonl`` (the lines dated up to ``--calibration-end``): one
  ``PURCHASE_CYBER_TOKENS`` action per line of the file, in ``import_actions``' format. ``user_id`` = the sample's
  customer id; ``event_id`` and ``payment_id`` = ``cdnow-<line number>``; ``action_timestamp`` = noon of the day in
  ``--timezone``; ``amount_paid`` = the dollars, ``currency`` = USD, ``tokens`` = max(1, round(dollars x
  ``--tokens-per-dollar``)). Several lines of one customer on one day stay several actions, as the file has them.
- ``bgnbd.csv``: per customer, BG/NBD + Gamma-Gamma fitted on the calibration period (to ``--calibration-end``,
  inclusive) and predicted over the next ``--holdout-weeks`` weeks (``--horizon-days`` / 7):
  ``expected_transactions`` (BG/NBD's conditional expectation), ``expected_average_value`` (Gamma-Gamma's conditional
  expectation of the average transaction value), ``predicted_spend`` = their product (CLV without discounting),
  ``p_alive`` and ``p_no_purchase`` = 1 - P(alive) x (1 - ((alpha + T) / (alpha + T + t)) ^ (r + x)).
- ``bgnbd.json``: the fitted parameters and the counts.

Time is in weeks, at the resolution of days (``freq="D"``, ``freq_multiplier=7``), as ``lifetimes`` summarises it:
its "transactions" are a customer's purchase days (lines of one day summed), its monetary value the mean of the repeat
purchase days' dollars. Gamma-Gamma is fitted on the customers with at least one repeat purchase day and a positive
mean (a few lines of the file are $0.00).

Standard library plus ``lifetimes`` and what it brings (numpy, scipy, pandas).

    var/cdnow-venv/bin/python bench/cdnow_lifetimes.py --out DIR [--timezone Asia/Seoul]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import sys
import zoneinfo


def read_sample() -> list[tuple[int, int, dt.date, int, float]]:
    """The CDNOW sample's lines: (line number, customer id, date, CDs, dollars)."""
    import lifetimes.datasets

    path = os.path.join(os.path.dirname(lifetimes.datasets.__file__), "CDNOW_sample.txt")
    rows = []
    with open(path) as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            _master, customer, day, cds, dollars = line.split()
            date = dt.datetime.strptime(day, "%Y%m%d").date()
            rows.append((number, int(customer), date, int(cds), float(dollars)))
    return rows


def action_line(
    number: int, customer: int, date: dt.date, dollars: float, *, tz: zoneinfo.ZoneInfo, per_dollar: int
) -> str:
    noon = dt.datetime.combine(date, dt.time(12, 0), tzinfo=tz)
    return json.dumps(
        {
            "event_id": f"cdnow-{number}",
            "user_id": customer,
            "action_type": "PURCHASE_CYBER_TOKENS",
            "action_timestamp": noon.isoformat(),
            "metadata": {
                "tokens": max(1, round(dollars * per_dollar)),
                "amount_paid": dollars,
                "currency": "USD",
                "payment_id": f"cdnow-{number}",
            },
        },
        separators=(",", ":"),
    )


def write_actions(rows: list[tuple[int, int, dt.date, int, float]], args: argparse.Namespace) -> dict[str, int]:
    tz = zoneinfo.ZoneInfo(args.timezone)
    calibration_end = dt.date.fromisoformat(args.calibration_end)
    ordered = sorted(rows, key=lambda r: (r[2], r[0]))  # in time order, as a log would come (file order within a day)
    counts = {"lines": 0, "calibration_lines": 0}
    with (
        open(os.path.join(args.out, "actions_all.jsonl"), "w") as everything,
        open(os.path.join(args.out, "actions_calibration.jsonl"), "w") as calibration,
    ):
        for number, customer, date, _cds, dollars in ordered:
            line = action_line(number, customer, date, dollars, tz=tz, per_dollar=args.tokens_per_dollar) + "\n"
            everything.write(line)
            counts["lines"] += 1
            if date <= calibration_end:
                calibration.write(line)
                counts["calibration_lines"] += 1
    return counts


def fit_and_predict(rows: list[tuple[int, int, dt.date, int, float]], args: argparse.Namespace) -> dict[str, object]:
    import numpy as np
    import pandas as pd
    from lifetimes import BetaGeoFitter, GammaGammaFitter
    from lifetimes.utils import summary_data_from_transaction_data

    calibration_end = dt.date.fromisoformat(args.calibration_end)
    frame = pd.DataFrame(
        [
            (customer, pd.Timestamp(date), dollars)
            for _n, customer, date, _c, dollars in rows
            if date <= calibration_end
        ],
        columns=["customer", "date", "dollars"],
    )
    summary = summary_data_from_transaction_data(
        frame,
        "customer",
        "date",
        monetary_value_col="dollars",
        observation_period_end=pd.Timestamp(calibration_end),
        freq="D",
        freq_multiplier=7,
    )
    x, t_x, age = summary["frequency"], summary["recency"], summary["T"]
    t = args.horizon_days / 7.0

    bgf = BetaGeoFitter(penalizer_coef=0.0)
    bgf.fit(x, t_x, age)
    r, alpha, a, b = (float(bgf.params_[k]) for k in ("r", "alpha", "a", "b"))
    expected = bgf.conditional_expected_number_of_purchases_up_to_time(t, x, t_x, age)
    p_alive = bgf.conditional_probability_alive(x, t_x, age)
    # Alive at the cut-off, a customer buys as a Poisson process whose rate has the posterior Gamma(r + x, alpha + T)
    # (dropping out happens only just after a purchase), so P(no purchase in t | alive) = ((alpha + T) / (alpha + T +
    # t)) ^ (r + x); a customer who dropped out buys nothing.
    none_if_alive = np.exp((r + x) * np.log((alpha + age) / (alpha + age + t)))
    p_no_purchase = 1.0 - p_alive * (1.0 - none_if_alive)

    repeat = summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
    ggf = GammaGammaFitter(penalizer_coef=0.0)
    ggf.fit(repeat["frequency"], repeat["monetary_value"])
    p, q, v = (float(ggf.params_[k]) for k in ("p", "q", "v"))
    # Gamma-Gamma's conditional mean: the customer's own mean weighted by their repeat purchases, else (no repeat
    # purchase, or a $0 mean) the population mean v p / (q - 1).
    usable = (summary["frequency"] > 0) & (summary["monetary_value"] > 0)
    average_value = np.where(
        usable,
        ggf.conditional_expected_average_profit(summary["frequency"], summary["monetary_value"]),
        v * p / (q - 1),
    )
    predicted_spend = expected * average_value

    with open(os.path.join(args.out, "bgnbd.csv"), "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(
            [
                "user_id",
                "expected_transactions",
                "expected_average_value",
                "predicted_spend",
                "p_alive",
                "p_no_purchase",
            ]
        )
        for i, customer in enumerate(summary.index):
            writer.writerow(
                [
                    int(customer),
                    repr(float(expected.iloc[i])),
                    repr(float(average_value[i])),
                    repr(float(predicted_spend.iloc[i])),
                    repr(float(p_alive[i])),
                    repr(float(p_no_purchase.iloc[i])),
                ]
            )
    return {
        "bgnbd": {"r": r, "alpha": alpha, "a": a, "b": b, "time_unit": "week"},
        "gamma_gamma": {"p": p, "q": q, "v": v, "fitted_on_customers": len(repeat)},
        "customers": len(summary),
        "horizon_weeks": t,
        "calibration_end": args.calibration_end,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="Directory for the files written.")
    parser.add_argument("--timezone", default="Asia/Seoul", help="The business timezone (noon of each day in it).")
    parser.add_argument("--calibration-end", default="1997-12-31", help="Last day of the calibration period.")
    parser.add_argument("--horizon-days", type=int, default=182, help="The holdout's length (26 weeks).")
    parser.add_argument("--tokens-per-dollar", type=int, default=10)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    rows = read_sample()
    counts = write_actions(rows, args)
    fitted = fit_and_predict(rows, args)
    customers = {r[1] for r in rows}
    same_day = len(rows) - len({(r[1], r[2]) for r in rows})
    info = {
        **fitted,
        **counts,
        "file_customers": len(customers),
        "lines_sharing_a_customer_day": same_day,
        "zero_dollar_lines": sum(1 for r in rows if r[4] <= 0),
        "first_date": min(r[2] for r in rows).isoformat(),
        "last_date": max(r[2] for r in rows).isoformat(),
        "tokens_per_dollar": args.tokens_per_dollar,
        "timezone": args.timezone,
    }
    with open(os.path.join(args.out, "bgnbd.json"), "w") as fh:
        json.dump(info, fh, indent=1)
    print(json.dumps(info))
    return 0


if __name__ == "__main__":
    sys.exit(main())
