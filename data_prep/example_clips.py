r"""Renders the three example clips bundled in ast_jax/assets/.

  python -m data_prep.example_clips --out=ast_jax/assets

Two four-part Bach chorales from the music21 corpus (public domain), rendered with TinySoundFont
and the TimGM6mb General MIDI SoundFont (see data_prep/synth.py and ast_jax/assets/README.md):

  content_piano.ogg   piece A (CONTENT_PIECE) on piano
  style_guitar.ogg    piece B (STYLE_PIECE) on nylon guitar
  target_guitar.ogg   piece A on nylon guitar, same time span as the content: what a perfect
                      transfer of content_piano.ogg into the style of style_guitar.ogg would give

The style piece differs from the content piece, so the style clip is not itself the answer.
The decoded audio is the same on every run (rendering is deterministic and libvorbis encodes the
same samples the same way); the .ogg bytes are not, since libsndfile gives each Ogg stream a
random serial number.

Needs the render dependencies: numpy soundfile absl-py music21 pretty_midi mido, and
`pip install --no-deps tinysoundfont` (its pyaudio dependency is for playback only).
"""

import pathlib

from absl import app
from absl import flags
import numpy as np
import soundfile as sf

from ast_jax import files
from data_prep import synth

# Corpus paths used for the bundled clips (music21 10.5.1 corpus, stand-alone chorales from
# BWV 250-438, so music21's chorale list gives their titles).
CONTENT_PIECE = "bach/bwv269"  # "Aus meines Herzens Grunde", Riemenschneider no. 1.
STYLE_PIECE = "bach/bwv347"  # "Ich dank' dir, lieber Herre", Riemenschneider no. 2.

_OUT = flags.DEFINE_string("out", "ast_jax/assets", "Directory to write the three .ogg clips to.")
_SAMPLE_RATE = flags.DEFINE_integer("sample_rate", 22050, "Sample rate of the clips in Hz.")
_SECONDS = flags.DEFINE_float("seconds", 5.0, "Length of each clip in seconds.")
_TARGET_DBFS = flags.DEFINE_float("target_dbfs", -20.0, "RMS level of each clip in dBFS.")


def make_clip(midi: bytes, program: int, sample_rate: int, seconds: float,
              target_dbfs: float) -> np.ndarray:
  """`seconds` of `midi` on GM `program`, from its first note, at `target_dbfs` RMS."""
  wave = synth.render_midi(midi, program, sample_rate)
  # The start comes from the score, not the audio, so that the content and the target (the
  # same notes on two instruments with different attacks) cover exactly the same time span.
  clip = synth.excerpt(wave, sample_rate, synth.first_onset(midi), seconds)
  return synth.loudness_normalise(clip, target_dbfs)


def spectral_centroid(wave: np.ndarray, sample_rate: int) -> float:
  """Power-weighted mean frequency of the whole clip in Hz: a crude brightness measure."""
  power = np.abs(np.fft.rfft(wave.astype(np.float64))) ** 2
  freqs = np.fft.rfftfreq(len(wave), 1.0 / sample_rate)
  return float(np.sum(freqs * power) / np.sum(power))


def main(argv):
  del argv
  out = pathlib.Path(_OUT.value)
  sr = _SAMPLE_RATE.value
  content_midi = synth.score_to_midi(CONTENT_PIECE)
  style_midi = synth.score_to_midi(STYLE_PIECE)
  clips = {
      "content_piano.ogg": (content_midi, synth.PIANO),
      "style_guitar.ogg": (style_midi, synth.NYLON_GUITAR),
      "target_guitar.ogg": (content_midi, synth.NYLON_GUITAR),
  }
  for name, (midi, program) in clips.items():
    clip = make_clip(midi, program, sr, _SECONDS.value, _TARGET_DBFS.value)
    with files.atomic_output(out / name) as tmp:
      sf.write(tmp, clip, sr, format="OGG", subtype="VORBIS")

  # Listening by proxy: what the files decode to.
  print(f"{'file':20s} {'bytes':>7s} {'seconds':>7s} {'RMS dBFS':>8s} {'peak':>6s} "
        f"{'centroid Hz':>11s}")
  for name in clips:
    wave, file_sr = sf.read(out / name, dtype="float32")
    print(f"{name:20s} {(out / name).stat().st_size:7d} {len(wave) / file_sr:7.3f} "
          f"{synth.rms_dbfs(wave):8.2f} {np.max(np.abs(wave)):6.3f} "
          f"{spectral_centroid(wave, file_sr):11.0f}")


if __name__ == "__main__":
  app.run(main)
