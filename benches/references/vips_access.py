"""The access set as a libvips user makes it, in one process (pyvips): the master read once,
shrunk to 2048 px (vips' `thumbnail`), the logo composited at 60 % opacity, saved as a
progressive JPEG and a WebP, and a 256 px thumbnail made from the access copy in memory.

usage: python vips_access.py MASTER LOGO OUT_DIR MARK_WIDTH MARK_X MARK_Y
"""
import sys

import pyvips

master, logo_path, out, mark_width, x, y = sys.argv[1:7]
mark_width, x, y = int(mark_width), int(x), int(y)

access = pyvips.Image.thumbnail(master, 2048, size="down")
if access.format != "uchar":
    access = access.colourspace("srgb")
logo = pyvips.Image.new_from_file(logo_path)
logo = logo.linear([1, 1, 1, 0.6], [0, 0, 0, 0]).resize(mark_width / logo.width)
marked = access.composite2(logo, "over", x=x, y=y).flatten().cast("uchar")
# Held in memory once, as a user would, so the two saves and the thumbnail do not recompute it.
marked = marked.copy_memory()
marked.jpegsave(f"{out}/access.jpg", Q=85, interlace=True, strip=True)
marked.webpsave(f"{out}/access.webp", Q=80, strip=True)
marked.thumbnail_image(256).jpegsave(f"{out}/thumb.jpg", Q=80, interlace=True, strip=True)
