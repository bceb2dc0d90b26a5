"""pytest plugin (not upstream): pybatfish's default `Session()` talks to the `realfish serve` on the port in
REALFISH_PORT instead of localhost:9996. Session reads Options.coordinator_work_v2_port when it is created."""

import os

from pybatfish.client.options import Options


def pytest_configure(config: object) -> None:
    Options.coordinator_work_v2_port = int(os.environ["REALFISH_PORT"])
