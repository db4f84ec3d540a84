"""The ``demo`` command: the whole chain for all parties on throwaway workspaces."""

from __future__ import annotations

from pathlib import Path

import click

from pijler3.cli.options import DIR, FILE, Command, day, moment, now_option
from pijler3.contract.errors import UserError


@click.command(cls=Command)
@click.option(
    "--persons",
    type=click.IntRange(min=100),
    default=20_000,
    show_default=True,
    help="How many persons the synthetic population holds by the last delivery.",
)
@click.option(
    "--deliveries",
    type=click.IntRange(min=1, max=12),
    default=3,
    show_default=True,
    help="How many quarterly deliveries to run through the chain.",
)
@click.option(
    "--seed", type=int, default=2023, show_default=True, help="The same seed gives the same run."
)
@click.option(
    "--out",
    type=DIR,
    default=Path("out/demo"),
    show_default=True,
    help="Folder for the throwaway workspaces and the report (replaced if a demo's).",
)
@click.option("--kbi", type=FILE, default=None, help="Run one delivery on this KBI extract.")
@click.option(
    "--werkzoekenden", type=FILE, default=None, help="With --kbi: VDAB's jobseekers extract."
)
@click.option("--acties", type=FILE, default=None, help="With --kbi: VDAB's actions extract.")
@click.option(
    "--peildatum", default=None, metavar="YYYY-MM-DD", help="With --kbi: the extracts' peildatum."
)
@now_option
def demo(
    persons: int,
    deliveries: int,
    seed: int,
    out: Path,
    kbi: Path | None,
    werkzoekenden: Path | None,
    acties: Path | None,
    peildatum: str | None,
    now: str | None,
) -> None:
    """Run the whole chain for all three parties on synthetic (or given) extracts."""
    from pijler3 import demo as demo_mod

    given = (kbi, werkzoekenden, acties, peildatum)
    if any(given) and not all(given):
        raise UserError("give --kbi, --werkzoekenden, --acties and --peildatum together.")
    result = demo_mod.run(
        out,
        persons=persons,
        deliveries=deliveries,
        seed=seed,
        now=moment(now),
        extracts=(kbi, werkzoekenden, acties) if kbi and werkzoekenden and acties else None,
        peildatum=day(peildatum, "--peildatum") if peildatum else None,
        echo=click.echo,
    )
    click.echo(result.summary)
