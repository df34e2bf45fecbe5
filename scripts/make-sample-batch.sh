#!/usr/bin/env bash
# Writes a sample batch of masters into DIR, made with FFmpeg's test sources:
# 20 images (8- and 16-bit PNG, JPEG, 8- and 16-bit TIFF (RGB and grey), WebP, GIF, BMP, JPEG 2000;
# landscape, portrait, larger than the access size and smaller; a phone photo stored sideways with
# an EXIF orientation), 2 short videos (an interlaced,
# anamorphic 10-bit 4:2:2 FFV1/MKV with 4 PCM channels and Thai and Arabic subtitle files beside
# it, and an H.264/AAC MP4), 1 corrupt JPEG,
# and the submission's catalogue (caravan-metadata.csv: titles in four scripts, creators, rights, digital source types).
# With --with-corpus, also copies ../shared/corpus images and video when that folder exists.
set -euo pipefail
usage() { echo "usage: $0 DIR [--with-corpus]" >&2; exit 2; }
[ $# -ge 1 ] || usage
dir=$1
with_corpus=${2:-}
command -v ffmpeg >/dev/null || { echo "ffmpeg is missing: apt-get install ffmpeg" >&2; exit 1; }
mkdir -p "$dir/images/tiff" "$dir/video" "$dir/damaged"
ff() { ffmpeg -nostdin -v error -y "$@"; }
img() { # source size output [extra args...]
  local src=$1 size=$2 out=$3; shift 3
  ff -f lavfi -i "$src=size=$size:rate=1" -frames:v 1 "$@" "$dir/$out"
}
img testsrc2 3000x2000 images/landscape-3000.png
img testsrc2 1200x1800 images/portrait-1200.png
img smptebars 2400x1600 "images/Bildnis einer Frau.jpg" -q:v 2
img testsrc 640x480 images/small-640.jpg -q:v 4
img rgbtestsrc 2560x1440 images/rgb-2560.jpg -q:v 3
img testsrc2 2200x2200 images/square-2200.webp -c:v libwebp -quality 90
img smptehdbars 1920x1080 images/hd-bars.webp -c:v libwebp -lossless 1
img testsrc2 2600x1800 images/tiff/master-16bit.tif -pix_fmt rgb48le
img testsrc 1800x2600 images/tiff/master-16bit-portrait.tif -pix_fmt rgb48le
img testsrc2 2100x1400 images/tiff/master-gray16.tif -pix_fmt gray16le
img smptebars 1600x1200 images/deep-16bit.png -pix_fmt rgb48be
img testsrc 3200x1800 images/tiff/master-8bit.tif
img testsrc2 500x300 images/tiny-500.gif
img rgbtestsrc 900x900 images/rgb-900.bmp
img testsrc2 4000x1000 "images/panorama — 全景.png"
img testsrc 256x256 images/exactly-256.png
img mandelbrot 2048x1536 images/mandelbrot-2048.png
img testsrc2 1500x1000 images/no-extension -f image2 -c:v png
img smptehdbars 2000x1500 images/national-library.jp2 -c:v jpeg2000 -format jp2 -pred dwt53
# A phone photo: the portrait picture above stored turned a quarter counter-clockwise, with an
# EXIF segment (Orientation 6: turn 90° clockwise to show) right after the JPEG's SOI marker.
ff -i "$dir/images/portrait-1200.png" -vf transpose=cclock -q:v 2 "$dir/phone.tmp.jpg"
{ head -c 2 "$dir/phone.tmp.jpg"
  printf '\xff\xe1\x00\x22Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08\x00\x01\x01\x12\x00\x03\x00\x00\x00\x01\x00\x06\x00\x00\x00\x00\x00\x00'
  tail -c +3 "$dir/phone.tmp.jpg"; } > "$dir/images/phone-portrait-exif6.jpg"
rm "$dir/phone.tmp.jpg"

# Interlaced NTSC-shaped capture: 720x486, SAR 9:10, 10-bit 4:2:2 FFV1, 4 channels of PCM.
ff -f lavfi -i "testsrc2=size=720x486:rate=30000/1001" \
   -f lavfi -i "sine=frequency=440:sample_rate=48000" \
   -filter_complex "[1:a]pan=4c|c0=c0|c1=c0|c2=c0|c3=c0[a]" -map 0:v -map "[a]" -t 2 \
   -vf "setsar=9/10,setfield=tff" -field_order tt -pix_fmt yuv422p10le -c:v ffv1 -level 3 -slicecrc 1 \
   -c:a pcm_s24le "$dir/video/capture-ntsc.mkv"
# Its subtitles, beside it as a collection delivers them: Thai in WebVTT, Arabic in SubRip
# (with Windows line ends, as subtitle editors write it).
cat > "$dir/video/capture-ntsc.th.vtt" <<'VTT'
WEBVTT

00:00.200 --> 00:01.900
ภาพยนตร์บ้าน ม้วนที่หนึ่ง
VTT
printf '1\r\n00:00:00,200 --> 00:00:01,900\r\nفيلم منزلي، البكرة الأولى\r\n' > "$dir/video/capture-ntsc.ar.srt"
ff -f lavfi -i "testsrc=size=640x360:rate=25" -f lavfi -i "sine=frequency=880:sample_rate=44100" \
   -t 2 -c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a aac -shortest "$dir/video/access-like.mp4"

# Title (also in Arabic), description (in French), date, creator, rights and how the work was made (IPTC digital source type: the landscape
# stands in for AI-generated art) per file, as a collection system exports them.
cat > "$dir/caravan-metadata.csv" <<'CSV'
file,title,creator,rights,rights_uri,digital_source_type,title@ar,description@fr,date
images/landscape-3000.png,"Landscape, test pattern",Caravan sample batch,© Caravan contributors,http://rightsstatements.org/vocab/InC/1.0/,trainedAlgorithmicMedia,منظر طبيعي,"Paysage, mire de test",2026
images/Bildnis einer Frau.jpg,Bildnis einer Frau,Unbekannt,Public domain,http://creativecommons.org/publicdomain/mark/1.0/,digitalCapture,,,
images/panorama — 全景.png,全景 · بانوراما · ภาพพาโนรามา,Caravan,CC BY 4.0,https://creativecommons.org/licenses/by/4.0/,compositeWithTrainedAlgorithmicMedia,بانوراما,,
video/capture-ntsc.mkv,"Home movie, reel 1 (1962)",Unknown amateur,In copyright,http://rightsstatements.org/vocab/InC/1.0/,negativeFilm,,Film amateur,1962
CSV

# A JPEG that stops after its first bytes: recognised as an image, undecodable.
head -c 700 "$dir/images/small-640.jpg" > "$dir/damaged/truncated.jpg"

if [ "$with_corpus" = "--with-corpus" ]; then
  corpus="$(cd "$(dirname "$0")/.." && pwd)/../shared/corpus"
  if [ -d "$corpus" ]; then
    mkdir -p "$dir/corpus"
    cp "$corpus"/images/* "$dir/corpus/"
    cp "$corpus"/video/GeneralConformance.mkv "$dir/corpus/"
  else
    echo "no corpus at $corpus; continuing without it" >&2
  fi
fi
echo "sample batch written to $dir"
