"""Griffin-Lim: ast_jax (jitted JAX) against librosa.griffinlim, side by side.

  python benchmarks/griffin_lim.py [--seconds 10] [--iters 100] [--json out.json]

On a 10 s clip at 22050 Hz (n_fft 2048, hop 512; the bundled example clips laid end to end, or a
synthetic harmonic signal with --signal synthetic):
  1. equal iterations: wall time and spectral convergence (SC) of both, for 32, 100, 300 iterations;
  2. equal quality: the fewest JAX iterations whose SC is at most librosa's SC after --iters
     iterations, and the time they take.
Both run fast Griffin-Lim with momentum 0.99 from random phase, float32. Times are the median of
--repeats runs (seeds 0, 1, ...; the same seeds for both, librosa and JAX runs alternating); SC is
the mean over those seeds. The JAX
compile time is excluded from the run times and reported on its own (one compilation serves every
iteration count: n_iter is traced). Target: JAX at least 2x faster than librosa at equal SC.
"""

import argparse
import json
import os
import pathlib
import platform
import statistics
import sys
import time

import jax
import jaxlib
import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

from ast_jax import files  # pylint: disable=g-import-not-at-top
from ast_jax.audio import phase, spectral  # pylint: disable=g-import-not-at-top

SAMPLE_RATE = 22050  # Hz
N_FFT = 2048  # samples
HOP = 512  # samples
MOMENTUM = 0.99  # librosa.griffinlim's default
TARGET_SPEEDUP = 2.0  # at equal spectral convergence
ASSET_CLIPS = ("content_piano.ogg", "target_guitar.ogg", "style_guitar.ogg")


def _parse_args(argv):
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("--seconds", type=float, default=10.0, help="signal length, s")
  parser.add_argument("--iters", type=int, default=100,
                      help="librosa iterations whose SC JAX must reach (part 2)")
  parser.add_argument("--equal_iters", default="32,100,300",
                      help="comma-separated iteration counts for part 1")
  parser.add_argument("--repeats", type=int, default=5, help="runs (seeds) per measurement")
  parser.add_argument("--signal", choices=("assets", "synthetic"), default="assets",
                      help="bundled example clips (falls back to synthetic if absent) or synthetic")
  parser.add_argument("--json", default="benchmarks/results/griffin_lim.json",
                      help="where to write the results")
  return parser.parse_args(argv)


def synthetic_signal(seconds: float) -> np.ndarray:
  """Harmonic notes (8 partials, 1/k), 0.5 s each on a pentatonic scale, 5 Hz vibrato, decaying
  envelopes, plus noise at -40 dB. float32 [samples]."""
  t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
  scale = 220.0 * 2.0 ** (np.array([0, 2, 4, 7, 9, 12, 9, 7]) / 12)
  f0 = scale[(t // 0.5).astype(int) % len(scale)]
  phi = 2 * np.pi * np.cumsum(f0 * (1 + 0.01 * np.sin(2 * np.pi * 5 * t))) / SAMPLE_RATE
  wave = sum(np.sin(k * phi) / k for k in range(1, 9))
  envelope = np.exp(-3.0 * (t % 0.5)) * np.minimum(1.0, (t % 0.5) / 0.01)
  noise = 0.01 * np.random.default_rng(0).standard_normal(t.shape)
  return (0.3 * wave * envelope + noise).astype(np.float32)


def load_signal(kind: str, seconds: float) -> tuple[np.ndarray, str]:
  n = int(seconds * SAMPLE_RATE)
  if kind == "assets":
    from ast_jax import assets  # pylint: disable=g-import-not-at-top
    from ast_jax.audio import io  # pylint: disable=g-import-not-at-top
    paths = [assets.path(name) for name in ASSET_CLIPS]
    if all(p.exists() for p in paths):
      wave = np.concatenate([io.load(p, SAMPLE_RATE) for p in paths])
      wave = np.tile(wave, -(-n // len(wave)))[:n]
      return wave.astype(np.float32), "ast_jax/assets: " + " + ".join(ASSET_CLIPS)
  return synthetic_signal(seconds), "synthetic harmonic notes + noise"


def machine() -> dict:
  cpu = platform.processor() or platform.machine()
  try:
    with open("/proc/cpuinfo") as f:
      models = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
    if models:
      cpu = f"{models[0]} ({cpu})"
  except OSError:
    pass
  import librosa  # pylint: disable=g-import-not-at-top
  device = jax.devices()[0]
  return {
      "cpu": cpu,
      "cpu_count": os.cpu_count(),
      "load_average_1min": os.getloadavg()[0],
      "jax_backend": jax.default_backend(),
      "jax_device": f"{device.platform}:{device.device_kind}",
      "python": platform.python_version(),
      "jax": jax.__version__,
      "jaxlib": jaxlib.__version__,
      "librosa": librosa.__version__,
      "numpy": np.__version__,
  }


class Runner:
  """Times and scores both implementations on one magnitude spectrogram."""

  def __init__(self, magnitude: np.ndarray, length: int, repeats: int):
    import librosa  # pylint: disable=g-import-not-at-top
    self.librosa = librosa
    self.mag = magnitude  # [frames, bins]
    self.mag_t = np.ascontiguousarray(magnitude.T)  # librosa's [bins, frames]
    self.length = length
    self.seeds = list(range(repeats))
    self.jax_mag = jax.device_put(magnitude)

  def sc(self, wave) -> float:
    return float(phase.spectral_convergence(self.jax_mag, wave, n_fft=N_FFT, hop_length=HOP))

  def jax_run(self, n_iter: int, seed: int):
    t = time.perf_counter()
    wave = phase.griffin_lim(self.jax_mag, n_fft=N_FFT, hop_length=HOP, n_iter=n_iter,
                             momentum=MOMENTUM, seed=seed, length=self.length)
    wave.block_until_ready()
    return time.perf_counter() - t, wave

  def librosa_run(self, n_iter: int, seed: int):
    t = time.perf_counter()
    wave = self.librosa.griffinlim(self.mag_t, n_iter=n_iter, hop_length=HOP, n_fft=N_FFT,
                                   momentum=MOMENTUM, random_state=seed, length=self.length)
    return time.perf_counter() - t, wave

  def warm_up(self) -> dict:
    """Compiles JAX (first call minus a steady run) and librosa's numba kernels."""
    first, _ = self.jax_run(1, 0)
    steady = min(self.jax_run(1, 0)[0] for _ in range(3))
    t = time.perf_counter()
    self.librosa_run(1, 0)
    return {"jax_compile_s": first - steady, "librosa_first_call_s": time.perf_counter() - t}

  def measure_pair(self, librosa_iters: int, jax_iters: int) -> tuple[dict, dict]:
    """Both implementations, alternating run by run (seed by seed) so that a change in the load of
    a shared machine hits both alike."""
    runs = {"librosa": (self.librosa_run, librosa_iters, [], []),
            "jax": (self.jax_run, jax_iters, [], [])}
    for seed in self.seeds:
      for run, n_iter, times, scs in runs.values():
        seconds, wave = run(n_iter, seed)
        times.append(seconds)
        scs.append(self.sc(wave))
    return tuple(
        {"iters": n_iter, "time_s": statistics.median(times), "times_s": times,
         "sc": float(np.mean(scs)), "scs": scs} for _, n_iter, times, scs in runs.values())

  def jax_mean_sc(self, n_iter: int) -> float:
    return float(np.mean([self.sc(self.jax_run(n_iter, seed)[1]) for seed in self.seeds]))

  def jax_iters_to_reach(self, target_sc: float, start: int) -> int:
    """Fewest iterations whose mean SC (same seeds) is <= target_sc; SC falls with iterations."""
    hi = max(start, 1)
    while self.jax_mean_sc(hi) > target_sc:
      hi *= 2
      if hi > 64 * start:
        raise RuntimeError(f"JAX Griffin-Lim did not reach SC {target_sc} in {hi} iterations")
    lo = 0  # SC(lo) > target (0 iterations: the random start)
    while hi - lo > 1:
      mid = (lo + hi) // 2
      if self.jax_mean_sc(mid) <= target_sc:
        hi = mid
      else:
        lo = mid
    return hi


def main(argv=None):
  args = _parse_args(argv)
  wave, source = load_signal(args.signal, args.seconds)
  mag = np.abs(np.asarray(spectral.stft(wave, N_FFT, HOP)))
  runner = Runner(mag, len(wave), args.repeats)
  info = machine()
  warm = runner.warm_up()

  equal_iters = sorted({int(n) for n in args.equal_iters.split(",")} | {args.iters})
  rows = []
  for n_iter in equal_iters:
    lib, jx = runner.measure_pair(n_iter, n_iter)
    rows.append({"iters": n_iter, "librosa": lib, "jax": jx,
                 "speedup": lib["time_s"] / jx["time_s"]})

  lib_sc = next(r["librosa"]["sc"] for r in rows if r["iters"] == args.iters)
  n_jax = runner.jax_iters_to_reach(lib_sc, args.iters)
  lib_ref, jax_eq = runner.measure_pair(args.iters, n_jax)  # timed again, side by side
  equal_sc = {"librosa": lib_ref, "jax": jax_eq, "speedup": lib_ref["time_s"] / jax_eq["time_s"]}

  lines = [
      f"Griffin-Lim, fast (momentum {MOMENTUM}), random phase: ast_jax vs librosa",
      f"signal: {source}; {args.seconds:g} s at {SAMPLE_RATE} Hz; n_fft {N_FFT}, hop {HOP}; "
      f"{mag.shape[0]} frames x {mag.shape[1]} bins",
      f"machine: {info['cpu']}, {info['cpu_count']} CPUs (1-min load at start "
      f"{info['load_average_1min']:.2f}); JAX backend {info['jax_backend']}, device "
      f"{info['jax_device']}",
      f"versions: python {info['python']}, jax {info['jax']}, librosa {info['librosa']}, "
      f"numpy {info['numpy']}",
      f"times: median of {args.repeats} runs (seeds {runner.seeds}; librosa and JAX alternating); "
      "SC: mean over the same seeds",
      f"JAX compile (once, excluded below): {warm['jax_compile_s']:.2f} s; "
      f"librosa first call (numba): {warm['librosa_first_call_s']:.2f} s",
      "",
      "1) equal iterations",
      f"{'iters':>6} | {'librosa s':>10} {'librosa SC':>11} | {'JAX s':>8} {'JAX SC':>8} | "
      f"{'speedup':>8} {'SC JAX/lib':>10}",
  ]
  for r in rows:
    lines.append(
        f"{r['iters']:>6} | {r['librosa']['time_s']:>10.3f} {r['librosa']['sc']:>11.4f} | "
        f"{r['jax']['time_s']:>8.3f} {r['jax']['sc']:>8.4f} | {r['speedup']:>7.2f}x "
        f"{r['jax']['sc'] / r['librosa']['sc']:>10.3f}")
  met = equal_sc["speedup"] >= TARGET_SPEEDUP
  lines += [
      "",
      f"2) equal spectral convergence (librosa's after {args.iters} iterations)",
      f"  librosa: {args.iters:>4} iters  SC {lib_ref['sc']:.4f}  {lib_ref['time_s']:.3f} s",
      f"  JAX:     {n_jax:>4} iters  SC {jax_eq['sc']:.4f}  {jax_eq['time_s']:.3f} s",
      f"  speedup at equal SC: {equal_sc['speedup']:.2f}x   target >= {TARGET_SPEEDUP:g}x: "
      f"{'MET' if met else 'NOT MET'}",
  ]
  print("\n".join(lines))

  result = {
      "config": {"seconds": args.seconds, "sample_rate": SAMPLE_RATE, "n_fft": N_FFT,
                 "hop_length": HOP, "momentum": MOMENTUM, "repeats": args.repeats,
                 "signal": source, "frames": mag.shape[0], "bins": mag.shape[1]},
      "machine": info,
      "warm_up": warm,
      "equal_iterations": rows,
      "equal_sc": {**equal_sc, "target_speedup": TARGET_SPEEDUP, "target_met": met},
      "table": lines,
  }
  with files.atomic_output(args.json) as tmp:
    tmp.write_text(json.dumps(result, indent=2) + "\n")
  print(f"\nwrote {args.json}")


if __name__ == "__main__":
  main()
