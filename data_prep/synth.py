"""Renders MIDI to audio with a General MIDI SoundFont, offline and bit-for-bit reproducibly.

The example clips (`data_prep/example_clips.py`) and the instrument benchmark's dataset builder
both turn public-domain scores into audio through this module, so that "piece A on piano" and
"piece A on guitar" differ only in the instrument: same notes, same timing, same loudness rule.

The synthesizer is TinySoundFont (the `tinysoundfont` wheel; install it with `--no-deps`, since
it declares a pyaudio dependency that only real-time playback needs and that does not build
without PortAudio). The default SoundFont is TimGM6mb.sf2, which the `pretty_midi` wheel ships.

Render-only dependencies (not needed to run style transfer): numpy, soundfile, pretty_midi, mido,
tinysoundfont, and music21 for `score_to_midi`.
"""

from __future__ import annotations

import copy
import functools
import io
import os
import pathlib

import numpy as np
import pretty_midi
import tinysoundfont

# General MIDI program numbers, 0-based (the GM table counts from 1: piano is "1").
PIANO = 0  # Acoustic Grand Piano.
NYLON_GUITAR = 24  # Acoustic Guitar (nylon).

# MIDI channel 10 (index 9) is the percussion channel in General MIDI.
DRUM_CHANNEL = 9
# SoundFont bank that holds the drum kits (SoundFont 2.04 spec, section 7.2).
DRUM_BANK = 128
_NUM_CHANNELS = 16
_MELODIC_CHANNELS = tuple(c for c in range(_NUM_CHANNELS) if c != DRUM_CHANNEL)

# music21 writes 10,080 ticks per beat, so a piece longer than ~990 beats passes pretty_midi's
# default MAX_TICK (1e7), a guard against corrupt files, and pretty_midi refuses to load it.
_MAX_TICK = 10**9

# Sound after the last note-off: the release of the last notes (TimGM6mb's piano and guitar
# releases are well under 1 s).
DEFAULT_TAIL_SECONDS = 1.0


def default_soundfont() -> pathlib.Path:
  """Path of TimGM6mb.sf2 inside the installed pretty_midi package (GPL-2; see assets/README)."""
  path = pathlib.Path(pretty_midi.__file__).with_name("TimGM6mb.sf2")
  if not path.is_file():
    raise FileNotFoundError(
        f"{path}: not found; this pretty_midi install does not ship TimGM6mb.sf2. "
        "Pass the path of a General MIDI .sf2 file instead.")
  return path


@functools.lru_cache(maxsize=8)
def _soundfont_bytes(path: str) -> bytes:
  # The file is read once per process; each render parses these bytes into a fresh synthesizer
  # (about 15 ms for TimGM6mb's 6 MB), so no render can hear a voice left over from another and
  # renders are identical whatever ran before them, in any thread.
  with open(path, "rb") as f:
    return f.read()


def load_midi(midi: bytes | str | os.PathLike | pretty_midi.PrettyMIDI) -> pretty_midi.PrettyMIDI:
  """Reads MIDI bytes or a .mid path into PrettyMIDI; a PrettyMIDI is returned as is."""
  if isinstance(midi, pretty_midi.PrettyMIDI):
    return midi
  # Raising the tick guard is a module-wide setting of pretty_midi; see _MAX_TICK.
  pretty_midi.pretty_midi.MAX_TICK = max(pretty_midi.pretty_midi.MAX_TICK, _MAX_TICK)
  if isinstance(midi, (bytes, bytearray)):
    return pretty_midi.PrettyMIDI(io.BytesIO(bytes(midi)))
  return pretty_midi.PrettyMIDI(os.fspath(midi))


def score_to_midi(corpus_path: str) -> bytes:
  """Exports a score of the music21 corpus (e.g. 'bach/bwv269') as Standard MIDI bytes.

  music21 puts all parts that share a program on one channel; `render_midi` ignores the file's
  channels and gives each part its own, so `set_programs` can give parts different programs.
  """
  # Imported here: music21 takes ~0.5 s to import and only this function needs it.
  from music21 import corpus
  from music21.midi import translate

  score = corpus.parse(corpus_path)
  return translate.music21ObjectToMidiFile(score).writestr()


def set_programs(midi: bytes | str | os.PathLike | pretty_midi.PrettyMIDI,
                 program: int) -> pretty_midi.PrettyMIDI:
  """Returns a copy of `midi` in which every non-drum instrument plays GM `program` (0-based)."""
  if not 0 <= program <= 127:
    raise ValueError(f"GM program {program} is out of range; programs are 0-127 (0-based)")
  pm = copy.deepcopy(load_midi(midi))
  for instrument in pm.instruments:
    if not instrument.is_drum:
      instrument.program = program
  return pm


def _events(pm: pretty_midi.PrettyMIDI, sample_rate: int) -> list[tuple]:
  """Time-ordered synth events: (sample, order, instrument index, channel, kind, a, b).

  Each instrument gets its own channel (drums on channel 10), as pretty_midi does when it writes
  a file. At the same sample, program and controller changes come first, then note-offs, then
  note-ons, so a repeated note is released before it is struck again.
  """
  events = []
  melodic = 0
  for index, instrument in enumerate(pm.instruments):
    if instrument.is_drum:
      channel = DRUM_CHANNEL
    else:
      channel = _MELODIC_CHANNELS[melodic % len(_MELODIC_CHANNELS)]
      melodic += 1

    def at(seconds):
      return int(round(seconds * sample_rate))

    events.append((0, 0, index, channel, "program", instrument.program, 0))
    for cc in instrument.control_changes:
      events.append((at(cc.time), 0, index, channel, "control", cc.number, cc.value))
    for bend in instrument.pitch_bends:
      # pretty_midi stores bends as -8192..8191; the synth takes 0..16383 (8192 = none).
      events.append((at(bend.time), 0, index, channel, "bend", bend.pitch + 8192, 0))
    for note in instrument.notes:
      start = at(note.start)
      # A note shorter than a sample (MIDI files do hold zero-length notes) still ends
      # after it starts; otherwise its note-off, sorted first, would leave it ringing.
      end = max(at(note.end), start + 1)
      events.append((start, 2, index, channel, "on", note.pitch, note.velocity))
      events.append((end, 1, index, channel, "off", note.pitch, 0))
  # Sorting on every field but the kind name makes the order total, hence reproducible.
  events.sort(key=lambda e: (e[0], e[1], e[2], e[5], e[6]))
  return events


def render_midi(
    midi: bytes | str | os.PathLike | pretty_midi.PrettyMIDI,
    program: int | None,
    sample_rate: int,
    soundfont: str | os.PathLike | None = None,
    *,
    tail_seconds: float = DEFAULT_TAIL_SECONDS,
) -> np.ndarray:
  """Renders MIDI to mono audio with a SoundFont.

  Args:
    midi: Standard MIDI bytes, a .mid path, or a PrettyMIDI.
    program: GM program (0-based) for every non-drum instrument, or None to keep the file's.
    sample_rate: output rate in Hz.
    soundfont: a .sf2/.sf3 path; None for TimGM6mb.sf2 from pretty_midi.
    tail_seconds: seconds rendered after the end of the last note, for the release.

  Returns:
    wave: float32 [samples], the mean of the synthesizer's two channels, with samples =
    round((end of last note + tail_seconds) * sample_rate). Not normalised and not clipped:
    a loud chord may exceed 1.0 (see `loudness_normalise`).

  Every event lands on the sample nearest its time, and the same inputs give the same samples,
  bit for bit. (tinysoundfont's own Sequencer does not do this: it rounds each block up to a
  whole sample, so its notes drift late by up to a sample per event.) TinySoundFont updates
  envelopes every 64 samples counted from the start of each render call, and the calls split
  at events, so adding an event (a controller change, say) alters the other voices' samples
  slightly (~1e-3) from that point on; two renders with the same event times share the grid.
  """
  pm = set_programs(midi, program) if program is not None else load_midi(midi)
  path = os.fspath(soundfont) if soundfont is not None else os.fspath(default_soundfont())

  synth = tinysoundfont.Synth(samplerate=sample_rate)
  sfid = synth.sfload(_soundfont_bytes(path))
  # Start from General MIDI's power-on state, whatever the SoundFont's preset order.
  for channel in _MELODIC_CHANNELS:
    synth.program_select(channel, sfid, 0, 0)
  synth.program_select(DRUM_CHANNEL, sfid, DRUM_BANK, 0, is_drums=True)

  num_samples = int(round((pm.get_end_time() + tail_seconds) * sample_rate))
  stereo = np.zeros((num_samples, 2), np.float32)
  position = 0

  def render_until(sample):
    nonlocal position
    count = min(sample, num_samples) - position
    if count > 0:
      # generate_simple fills `count` stereo frames of float32 (interleaved L, R).
      block = synth.generate_simple(count)
      stereo[position:position + count] = np.frombuffer(block, np.float32).reshape(count, 2)
      position += count

  for sample, _, _, channel, kind, a, b in _events(pm, sample_rate):
    render_until(sample)
    if kind == "on":
      synth.noteon(channel, a, b)
    elif kind == "off":
      synth.noteoff(channel, a)
    elif kind == "control":
      synth.control_change(channel, a, b)
    elif kind == "bend":
      synth.pitchbend(channel, a)
    elif channel == DRUM_CHANNEL:
      # GM files select drum kits by program; a SoundFont may have only the standard kit.
      kit = a if synth.sfpreset_name(sfid, DRUM_BANK, a) is not None else 0
      synth.program_change(channel, kit, is_drums=True)
    else:
      if synth.sfpreset_name(sfid, 0, a) is None:
        raise ValueError(f"{path}: no preset for GM program {a} (bank 0)")
      synth.program_change(channel, a)
  render_until(num_samples)
  return stereo.mean(axis=1, dtype=np.float32)


def rms_dbfs(wave: np.ndarray) -> float:
  """RMS level of `wave` in dB relative to a full-scale (1.0) constant signal."""
  rms = float(np.sqrt(np.mean(np.square(wave, dtype=np.float64))))
  return 20.0 * np.log10(rms) if rms > 0 else -np.inf


def loudness_normalise(wave: np.ndarray, target_dbfs: float = -20.0,
                       max_peak: float = 0.99) -> np.ndarray:
  """Scales `wave` to an RMS of `target_dbfs`, or lower if that would put a peak above max_peak.

  RMS, not a perceptual loudness, because the clips are compared by spectrogram distances, for
  which equal energy is what matters; -20 dBFS leaves the 20 dB of headroom that a chord's
  peaks need. When the peak limit wins, the RMS ends up below the target (never clipped).

  Returns:
    float32 [samples].

  Raises:
    ValueError: `wave` is empty, silent or not finite.
  """
  wave = np.asarray(wave, np.float32)
  if wave.size == 0:
    raise ValueError("cannot normalise an empty signal")
  if not np.all(np.isfinite(wave)):
    raise ValueError("cannot normalise a signal that contains NaN or inf")
  level = rms_dbfs(wave)
  if not np.isfinite(level):
    raise ValueError("cannot normalise a silent signal (RMS 0)")
  gain = 10.0 ** ((target_dbfs - level) / 20.0)
  peak = float(np.max(np.abs(wave)))
  gain = min(gain, max_peak / peak)
  return (wave.astype(np.float64) * gain).astype(np.float32)


def excerpt(wave: np.ndarray, sample_rate: int, start_seconds: float, duration_seconds: float,
            fade_seconds: float = 0.01) -> np.ndarray:
  """Cuts [start, start + duration) out of `wave`, with a raised-cosine fade-out at the cut.

  The fade keeps the notes sounding at the cut from ending in a click (a broadband transient
  that the style features would see). No fade-in: excerpts start at a note onset.

  Raises:
    ValueError: the excerpt runs past the end of `wave`.
  """
  start = int(round(start_seconds * sample_rate))
  length = int(round(duration_seconds * sample_rate))
  if start < 0 or start + length > len(wave):
    raise ValueError(
        f"excerpt {start_seconds:.3f}+{duration_seconds:.3f} s does not fit in "
        f"{len(wave) / sample_rate:.3f} s of audio")
  clip = np.array(wave[start:start + length], np.float32)
  fade = min(int(round(fade_seconds * sample_rate)), length)
  if fade > 0:
    clip[-fade:] *= (0.5 + 0.5 * np.cos(np.linspace(0.0, np.pi, fade))).astype(np.float32)
  return clip


def first_onset(midi: bytes | str | os.PathLike | pretty_midi.PrettyMIDI) -> float:
  """Time in seconds of the first note-on: where the sound starts, whatever the instrument."""
  pm = load_midi(midi)
  starts = [note.start for instrument in pm.instruments for note in instrument.notes]
  if not starts:
    raise ValueError("the MIDI has no notes")
  return min(starts)
