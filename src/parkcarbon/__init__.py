"""parkcarbon — energy-carbon management platform for industrial parks (园区智慧能碳管理平台).

Layers (each imports only those below it; CI checks this with import-linter)::

    delivery   api/  cli/  web/
    services   services/
    adapters   storage/  ingest/  planning/  reports/  engines/
    reference  factors/
    core       core/
    leaves     units.py  periods.py  errors.py
"""

__version__ = "0.1.0"
