# Receipt admin screens are registered here once the receipt models exist.

# The finance export screens (ExportLog list, "New export", downloads) live in their own module.
from receipts import admin_export  # noqa: E402, F401
