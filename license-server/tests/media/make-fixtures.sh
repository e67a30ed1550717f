#!/usr/bin/env bash
# Regenerates the audio fixtures of the server's tests, each made with ffmpeg as a publisher's
# tools would make it: three chapters of tones (2 s each) and a 64×64 cover.
#   chapters.m4b     AAC in MP4 (the audiobook format): chapters as both a QuickTime chapter
#                    track and a Nero `chpl` atom (what ffmpeg writes by default), cover in `covr`
#   track-only.m4a   the same, chapters in the QuickTime chapter track only
#   plain.m4a        the same audio, no chapters, no cover
#   chapters.mp3     MP3: chapters as ID3v2 CHAP frames, cover as an APIC frame
# Needs Debian's ffmpeg.
set -euo pipefail
cd "$(dirname "$0")"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

meta="$work/chapters.txt"
cat > "$meta" <<'META'
;FFMETADATA1
title=Three Tones
artist=Fount Tests
genre=Audiobook

[CHAPTER]
TIMEBASE=1/1000
START=0
END=2000
title=Low

[CHAPTER]
TIMEBASE=1/1000
START=2000
END=4000
title=Middle

[CHAPTER]
TIMEBASE=1/1000
START=4000
END=6000
title=High
META
ff() { ffmpeg -loglevel error -y "$@"; }
ff -f lavfi -i "sine=frequency=220:duration=2" -f lavfi -i "sine=frequency=440:duration=2" \
   -f lavfi -i "sine=frequency=880:duration=2" -filter_complex "[0][1][2]concat=n=3:v=0:a=1" -ar 22050 -ac 1 "$work/tones.wav"
ff -f lavfi -i "color=c=0x2f6f8f:s=64x64" -frames:v 1 "$work/cover.png"

common=(-i "$work/tones.wav" -i "$meta" -i "$work/cover.png" -map 0:a -map 2:v -map_metadata 1 -map_chapters 1
        -c:a aac -b:a 32k -c:v copy -disposition:v:0 attached_pic)
ff "${common[@]}" -f ipod chapters.m4b
ff "${common[@]}" -movflags +disable_chpl -f ipod track-only.m4a
ff -i "$work/tones.wav" -c:a aac -b:a 32k -f ipod plain.m4a
ff -i "$work/tones.wav" -i "$meta" -i "$work/cover.png" -map 0:a -map 2:v -map_metadata 1 -map_chapters 1 \
   -c:a libmp3lame -b:a 32k -c:v copy -disposition:v:0 attached_pic -id3v2_version 3 chapters.mp3
ls -l chapters.m4b track-only.m4a plain.m4a chapters.mp3
