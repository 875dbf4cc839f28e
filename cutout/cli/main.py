"""The `cutout` command: the same pipeline as the service, on local files and folders."""

from __future__ import annotations

import logging

import click

from cutout.cli.batch import batch
from cutout.cli.evaluate import evaluate_command
from cutout.cli.keys import keys
from cutout.cli.remove import remove


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log what the pipeline does.")
def cli(verbose: bool) -> None:
    """Remove image backgrounds with u2netp, at full resolution."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )


cli.add_command(remove)
cli.add_command(batch)
cli.add_command(evaluate_command)
cli.add_command(keys)
