"""Moving memory in and out: export, import (slm's format and foreign ones), verifiable erasure and backups
(docs/ARCHITECTURE.md, "Portability")."""
