"""What this package plugs into the store (declared in ``pyproject.toml`` under the
``neurostore.plugins`` entry point group): the export writers, the run specs and the
terms engine."""

from analysis.exports import WRITERS
from analysis.runcatalogue import catalogue, spec_schemas
from analysis.runinputs import InputsTally
from analysis.runspec import validate
from analysis.termengine import TermEngine
from neurostore.plugins import Plugins, RunSpecs

PLUGINS = Plugins(writers=WRITERS, runs=RunSpecs(validate=validate, catalogue=catalogue,
                                                 schemas=spec_schemas, tally=InputsTally),
                  terms=TermEngine())
