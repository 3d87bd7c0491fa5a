"""Import from spreadsheets: `hub import csv FILE --kind vendors|clients|subscriptions`.

The CSV formats are documented by the samples in `hub/importer/samples/`.
"""

from hub.importer.csv_import import (
    COLUMNS,
    IMPORT_PRINCIPAL,
    CsvTable,
    ImportKind,
    ImportResult,
    RowError,
    import_table,
    parse_amount,
    parse_date,
    read_csv,
)

__all__ = [
    "COLUMNS",
    "IMPORT_PRINCIPAL",
    "CsvTable",
    "ImportKind",
    "ImportResult",
    "RowError",
    "import_table",
    "parse_amount",
    "parse_date",
    "read_csv",
]
