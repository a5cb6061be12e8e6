"""Tests for data_prep.synth: real renders of tiny MIDI made here, with the real SoundFont."""

import copy
import io

import numpy as np
import pytest

try:
  import music21  # noqa: F401  (score_to_midi needs it)
  import pretty_midi
  import tinysoundfont  # noqa: F401

  from data_prep import synth
  _MISSING = None
except ImportError as e:
  _MISSING = (
      f"tests/synth_test.py needs the render dependencies ({e}). Install them with "
      "`pip install music21 pretty_midi mido soundfile && pip install --no-deps tinysoundfont` "
      "(--no-deps: tinysoundfont declares pyaudio, which only playback needs and which does "
      "not build without PortAudio).")


@pytest.fixture(autouse=True)
def _require_render_dependencies():
  # Each test fails, rather than skips, without the render dependencies: a skip would pass CI
  # and hide a broken install. Failing here, not at import, lets the other test files run.
  if _MISSING:
    pytest.fail(_MISSING, pytrace=False)


PIANO = 0  # synth.PIANO and synth.NYLON_GUITAR, spelt out so that collection needs no synth.
NYLON_GUITAR = 24
SR = 22050
A4 = 69  # MIDI key of A4 = 440 Hz.


def _midi(notes, program=0, is_drum=False):
  """PrettyMIDI with one instrument; notes: [(key, start_s, end_s)], velocity 100."""
  pm = pretty_midi.PrettyMIDI()
  instrument = pretty_midi.Instrument(program=program, is_drum=is_drum)
  instrument.notes = [pretty_midi.Note(velocity=100, pitch=key, start=start, end=end)
                      for key, start, end in notes]
  pm.instruments.append(instrument)
  return pm


_PHRASE = [(60, 0.0, 0.25), (64, 0.25, 0.5), (67, 0.5, 0.75), (72, 0.75, 1.0)]


def _midi_bytes(pm):
  buffer = io.BytesIO()
  pm.write(buffer)
  return buffer.getvalue()


def test_render_piano_and_guitar_are_audible_differ_and_have_the_right_length():
  pm = _midi(_PHRASE, program=40)  # Violin in the file; render_midi must override it.
  tail = 0.5
  piano = synth.render_midi(pm, synth.PIANO, SR, tail_seconds=tail)
  guitar = synth.render_midi(_midi_bytes(pm), synth.NYLON_GUITAR, SR, tail_seconds=tail)
  for wave in (piano, guitar):
    assert wave.dtype == np.float32
    assert wave.shape == (int(round((1.0 + tail) * SR)),)
    assert np.all(np.isfinite(wave))
    assert synth.rms_dbfs(wave) > -50.0
  level = np.sqrt(np.mean(np.square(piano)))
  assert np.sqrt(np.mean(np.square(piano - guitar))) > 0.3 * level
  # Overriding the program: the violin the file names is neither of these.
  violin = synth.render_midi(pm, None, SR, tail_seconds=tail)
  assert not np.allclose(violin, piano, atol=1e-3)
  assert not np.allclose(violin, guitar, atol=1e-3)


def test_render_is_deterministic_and_independent_of_earlier_renders():
  pm = _midi(_PHRASE)
  first = synth.render_midi(pm, synth.PIANO, SR)
  synth.render_midi(_midi([(40, 0.0, 3.0)]), synth.NYLON_GUITAR, SR)  # Long note in between.
  again = synth.render_midi(pm, synth.PIANO, SR)
  np.testing.assert_array_equal(first, again)


def test_notes_land_on_their_sample_after_many_events():
  # tinysoundfont's own Sequencer rounds every block up to a whole frame, so after N events a
  # note can start up to N samples late (22 samples = 1 ms by 30 s of a chorale). render_midi
  # must place a note at 2 s on sample 44100 however many events came before it.
  busy = _midi([(48 + i % 24, i * 0.002, i * 0.002 + 0.001) for i in range(200)],
               program=synth.PIANO)  # 400 events in the first 0.4 s, silent again by 1.5 s.
  late_note = pretty_midi.Instrument(program=synth.NYLON_GUITAR)
  late_note.notes = [pretty_midi.Note(velocity=100, pitch=A4, start=2.0, end=2.5)]
  busy_then_note = copy.deepcopy(busy)
  busy_then_note.instruments.append(late_note)
  note_alone = _midi([(A4, 0.0, 0.5)], program=synth.NYLON_GUITAR)

  mix = synth.render_midi(busy_then_note, None, SR, tail_seconds=0.1)
  busy_alone = synth.render_midi(busy, None, SR, tail_seconds=3.0)[:len(mix)]
  start = 2 * SR
  # The piano must be silent by then, or the note's sound could not be isolated exactly:
  # TinySoundFont updates envelopes every 64 samples from the start of each render call, so a
  # voice sounds slightly different (~1e-3) when the calls are split at other samples.
  assert np.max(np.abs(busy_alone[start:])) == 0.0
  heard = mix - busy_alone
  assert np.max(np.abs(heard[:start])) == 0.0
  expected = synth.render_midi(note_alone, None, SR, tail_seconds=0.1)
  np.testing.assert_allclose(heard[start:], expected, atol=1e-6)


def test_zero_length_note_does_not_ring_on():
  # MIDI files hold notes whose end equals their start; the note-off must still follow the
  # note-on, or the note sounds until its sample fades (-37 dBFS still 1.5 s later).
  pm = _midi([(60, 0.0, 0.0), (64, 3.0, 3.1)], program=synth.NYLON_GUITAR)
  wave = synth.render_midi(pm, None, SR)
  assert synth.rms_dbfs(wave[:SR // 10]) > -40.0  # The note is struck...
  assert np.max(np.abs(wave[int(1.5 * SR):3 * SR])) == 0.0  # ...and released.


@pytest.mark.parametrize("program", [PIANO, NYLON_GUITAR])
def test_a4_fundamental_is_440_hz(program):
  wave = synth.render_midi(_midi([(A4, 0.0, 1.0)]), program, SR, tail_seconds=0.0)
  spectrum = np.abs(np.fft.rfft(wave * np.hanning(len(wave))))
  freqs = np.fft.rfftfreq(len(wave), 1.0 / SR)
  peak = freqs[np.argmax(spectrum)]
  assert abs(peak - 440.0) < 5.0, peak
  # The strongest partial is the fundamental, not an octave: nothing below 400 Hz rivals it.
  assert spectrum[freqs < 400.0].max() < 0.1 * spectrum.max()


def test_set_programs_changes_melodic_instruments_only_and_copies():
  pm = _midi(_PHRASE, program=40)
  drums = pretty_midi.Instrument(program=0, is_drum=True)
  drums.notes = [pretty_midi.Note(velocity=100, pitch=36, start=0.0, end=0.1)]
  pm.instruments.append(drums)
  changed = synth.set_programs(pm, synth.NYLON_GUITAR)
  assert [i.program for i in changed.instruments] == [24, 0]
  assert [i.program for i in pm.instruments] == [40, 0]  # The input is untouched.
  with pytest.raises(ValueError, match="out of range"):
    synth.set_programs(pm, 128)
  # Drums render on the drum channel without error.
  assert synth.rms_dbfs(synth.render_midi(changed, None, SR)) > -60.0


def test_each_instrument_keeps_its_own_program():
  # Two parts with different programs in one file: each must sound on its own channel, so the
  # mix is the sum of the parts rendered alone (a shared channel would play both as guitar).
  piano = _midi([(60, 0.0, 0.5)], program=synth.PIANO)
  guitar = _midi([(64, 0.0, 0.5)], program=synth.NYLON_GUITAR)
  both = _midi([(60, 0.0, 0.5)], program=synth.PIANO)
  both.instruments.append(guitar.instruments[0])
  mix = synth.render_midi(both, None, SR)
  parts = synth.render_midi(piano, None, SR) + synth.render_midi(guitar, None, SR)
  np.testing.assert_allclose(mix, parts, atol=1e-5)


def test_loudness_normalise_hits_target_rms():
  rng = np.random.default_rng(0)
  wave = (0.01 * rng.standard_normal(SR)).astype(np.float32)
  out = synth.loudness_normalise(wave, -20.0)
  assert out.dtype == np.float32
  assert synth.rms_dbfs(out) == pytest.approx(-20.0, abs=0.01)
  assert np.max(np.abs(out)) < 0.99


def test_loudness_normalise_backs_off_to_keep_the_peak_below_limit():
  wave = np.zeros(SR, np.float32)
  wave[::100] = 1.0  # Sparse clicks at -20 dBFS RMS: -10 dBFS would need a peak of 3.2.
  out = synth.loudness_normalise(wave, -10.0, max_peak=0.99)
  assert np.max(np.abs(out)) == pytest.approx(0.99, rel=1e-6)
  assert synth.rms_dbfs(out) < -10.0


def test_loudness_normalise_refuses_silence():
  with pytest.raises(ValueError, match="silent"):
    synth.loudness_normalise(np.zeros(100, np.float32))


def test_excerpt_cuts_fades_and_refuses_overrun():
  wave = np.ones(SR, np.float32)
  clip = synth.excerpt(wave, SR, 0.25, 0.5)
  assert clip.shape == (SR // 2,)
  assert clip[0] == 1.0 and clip[-1] == pytest.approx(0.0, abs=1e-6)
  with pytest.raises(ValueError, match="does not fit"):
    synth.excerpt(wave, SR, 0.75, 0.5)


def test_music21_chorale_exports_and_loads():
  midi = synth.score_to_midi("bach/bwv269")
  pm = synth.load_midi(midi)
  assert pm.resolution == 10080
  assert len(pm.instruments) == 4  # Soprano, alto, tenor, bass.
  assert synth.first_onset(midi) == 0.0
