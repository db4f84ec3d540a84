"""The pipeline a data steward would write instead of pijler3, plainly, in pandas.

Reads the three CSV extracts (Windows-1252, ``;``), links them on the INSZ, replaces the
INSZ by an HMAC-SHA256 pseudonym row by row, writes the linked table as Parquet and
computes one indicator: the share of persons registered at VDAB within six months of
their integration contract, per region. No quality checks, no quarantine, no
encryption, no audit log, no disclosure control: it is the yardstick bench/chain.py
compares the whole chain with, not a reference implementation.

    python bench/naive_pandas.py KBI.csv WERKZOEKENDEN.csv ACTIES.csv OUT_DIR
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import sys
import time
from pathlib import Path

import pandas as pd


def read(path: str) -> pd.DataFrame:
    return pd.read_csv(path, sep=";", encoding="cp1252", dtype=str, keep_default_na=False)


def main(kbi_path: str, wz_path: str, ac_path: str, out_dir: str) -> None:
    start = time.perf_counter()  # for bench/chain.py: the time after imports
    key = os.urandom(32)
    kbi = read(kbi_path)
    wz = read(wz_path)
    ac = read(ac_path)

    # The INSZ as 11 digits; rows without one cannot be linked.
    kbi["insz"] = kbi["Rijksregisternummer"].str.replace(r"\D", "", regex=True)
    wz["insz"] = wz["INSZ"].str.replace(r"\D", "", regex=True)
    ac["insz"] = ac["INSZ"].str.replace(r"\D", "", regex=True)
    kbi = kbi[kbi["insz"].str.len() == 11]

    for df, cols in (
        (kbi, ["Datum inburgeringscontract", "Geboortedatum "]),
        (wz, ["Datum eerste inschrijving", "Datum recentste inschrijving"]),
        (ac, ["Startdatum"]),
    ):
        for col in cols:
            df[col] = pd.to_datetime(df[col], format="mixed", dayfirst=True, errors="coerce")

    # One row per jobseeker: the latest registration wins.
    wz = wz.sort_values(["insz", "Datum recentste inschrijving"]).drop_duplicates(
        "insz", keep="last"
    )
    # One column per action type: did the person get one?
    ac["one"] = True
    actions = ac.pivot_table(
        index="insz", columns="Actietype", values="one", aggfunc="any", fill_value=False
    )
    actions.columns = [f"actie_{c}" for c in actions.columns]

    linked = kbi.merge(wz.drop(columns=["INSZ"]), on="insz", how="left")
    linked = linked.merge(actions, left_on="insz", right_index=True, how="left")

    linked["pseudonym"] = linked["insz"].apply(
        lambda s: hmac.new(key, s.encode(), hashlib.sha256).hexdigest()
    )
    identifying = ["Rijksregisternummer", "insz", "Naam", "Voornaam", "Straat", "Huisnummer",
                   "Telefoon", "E-mail", "Geboortedatum "]  # fmt: skip
    linked = linked.drop(columns=[c for c in identifying if c in linked.columns])
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    linked.to_parquet(out / "linked.parquet", index=False)

    days = (linked["Datum eerste inschrijving"] - linked["Datum inburgeringscontract"]).dt.days
    linked["vdab_6m"] = days.between(0, 182)
    indicator = linked.groupby("REGIO")["vdab_6m"].mean()
    indicator.to_csv(out / "indicator.csv", sep=";")
    print(json.dumps({"inside": time.perf_counter() - start}))


if __name__ == "__main__":
    main(*sys.argv[1:5])
