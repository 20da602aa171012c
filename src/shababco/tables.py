"""Every table of the service: importing this registers them all on the one `MetaData`.

Alembic's environment and whatever resets the whole database (the demo, the tests) use it, so
a new table module added here is seen by all of them.
"""

from __future__ import annotations

from shababco.cache import changelog  # noqa: F401  (each import defines tables)
from shababco.catalog import models as catalog_models  # noqa: F401
from shababco.database import leases  # noqa: F401
from shababco.database.core import Base
from shababco.shopify import models as shopify_models  # noqa: F401

metadata = Base.metadata
