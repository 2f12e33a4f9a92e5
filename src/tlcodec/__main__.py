"""`python -m tlcodec COMMAND`: the command line (`tlcodec.cli`).

    python -m tlcodec demo                                    # the QR login end to end, locally
    python -m tlcodec qr-login --api-id N --api-hash H --session me.session
    python -m tlcodec serve --account Alice:15550001111:3     # test DCs until Ctrl-C
    python -m tlcodec decode e45cac9520010203...              # the object tree of a TL blob
    echo e45cac95... | python -m tlcodec decode
    python -m tlcodec decode --schema api.tl --schema mtproto.tl HEX   # any loaded schema
    python -m tlcodec encode-example                          # a blob to try decode on
"""

from __future__ import annotations

import sys

from tlcodec.cli import main
from tlcodec.cli.decode import render

__all__ = ["main", "render"]

if __name__ == "__main__":
    sys.exit(main())
