#!/usr/bin/env bash
# Regenerates sample.mp3, the demo's audiobook: synthetic speech (espeak-ng) in three
# chapters, written into the MP3 as ID3v2 CHAP frames (ffmpeg). Text written for Fount; no
# third-party material. Needs Debian's espeak-ng and ffmpeg.
set -euo pipefail
cd "$(dirname "$0")"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

chapters=(
  "Chapter one. The spring. Long before there were towns in the valley, there was a spring at the foot of the hill. Travellers stopped there to drink, and each one left a story behind."
  "Chapter two. The keeper. A keeper came to look after the spring. She wrote down every story she heard, and lent the pages to anyone who promised to bring them back."
  "Chapter three. The library. In time the pages filled a house, and the house became a library. People still come to drink, and to listen, and to leave a story of their own."
)
titles=("The Spring" "The Keeper" "The Library")

meta="$work/chapters.txt"
echo ";FFMETADATA1" > "$meta"
echo "title=The Fount Sampler" >> "$meta"
echo "artist=Fount" >> "$meta"
list="$work/list.txt"
: > "$list"
start=0
for i in "${!chapters[@]}"; do
  espeak-ng -v en-gb -s 150 -w "$work/ch$i.wav" "${chapters[$i]}"
  # A second of silence after each chapter.
  ffmpeg -loglevel error -y -i "$work/ch$i.wav" -af "apad=pad_dur=1" -ar 22050 -ac 1 "$work/p$i.wav"
  ms=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$work/p$i.wav" | awk '{printf "%d", $1 * 1000}')
  {
    echo "[CHAPTER]"; echo "TIMEBASE=1/1000"; echo "START=$start"; echo "END=$((start + ms))"; echo "title=${titles[$i]}"
  } >> "$meta"
  start=$((start + ms))
  echo "file '$work/p$i.wav'" >> "$list"
done

ffmpeg -loglevel error -y -f concat -safe 0 -i "$list" -i "$meta" -map_metadata 1 -map_chapters 1 \
  -codec:a libmp3lame -b:a 64k -ar 22050 -ac 1 -id3v2_version 3 sample.mp3
ls -l sample.mp3
