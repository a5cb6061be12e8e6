"""Helpers shared by the benchmark scripts: machine description, timing, a matmul roofline,
tables and JSON results (written to benchmarks/results/, which git ignores)."""

import json
import os
import pathlib
import platform
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
RESULTS = ROOT / 'benchmarks' / 'results'


def _cpu_model() -> str:
  try:
    for line in pathlib.Path('/proc/cpuinfo').read_text().splitlines():
      if line.startswith('model name'):
        return line.split(':', 1)[1].strip()
  except OSError:
    pass
  return platform.processor() or 'unknown'


def torch_version() -> str | None:
  try:
    import torch  # pylint: disable=import-outside-toplevel
  except ImportError:
    return None
  return torch.__version__


def machine_info() -> dict:
  """What the numbers were measured on."""
  device = jax.devices()[0]
  return {
      'platform': platform.platform(),
      'python': platform.python_version(),
      'cpu': _cpu_model(),
      'cpu_count': os.cpu_count(),
      'jax': jax.__version__,
      'jax_backend': jax.default_backend(),
      'jax_device': device.device_kind,
      'torch': torch_version(),
      'load_average_1min': os.getloadavg()[0],  # other processes sharing the CPU
  }


def _stats(times) -> dict:
  return {'min': min(times), 'median': statistics.median(times), 'all': times}


def timeit(fn, repeats: int = 5, warmup: int = 1) -> dict:
  """Wall seconds of `fn()` over `repeats` calls after `warmup` untimed ones.

  `fn` must block until its work is done (jax: `.block_until_ready()`). Other processes may share
  the CPU, so report the min (the machine's capability) beside the median (what a user sees).
  """
  return timeit_interleaved({'fn': fn}, repeats, warmup)['fn']


def timeit_interleaved(fns: dict, repeats: int = 5, warmup: int = 1) -> dict:
  """`timeit` for several blocking functions called in turn, so that a burst of load from other
  processes hits all of them alike: name -> {'min', 'median', 'all'} seconds."""
  for _ in range(warmup):
    for fn in fns.values():
      fn()
  times = {name: [] for name in fns}
  for _ in range(repeats):
    for name, fn in fns.items():
      t = time.perf_counter()
      fn()
      times[name].append(time.perf_counter() - t)
  return {name: _stats(t) for name, t in times.items()}


def matmul_fns(n: int = 4096) -> dict:
  """Blocking float32 `[n, n] @ [n, n]` products (2 n^3 FLOPs each): 'matmul jax' (jit) and, when
  installed, 'matmul torch' (all cores)."""
  rng = np.random.default_rng(0)
  a_np = rng.standard_normal((n, n), np.float32)
  b_np = rng.standard_normal((n, n), np.float32)
  a, b = jnp.asarray(a_np), jnp.asarray(b_np)
  mm = jax.jit(jnp.matmul)
  fns = {'matmul jax': lambda: mm(a, b).block_until_ready()}
  if torch_version() is not None:
    import torch  # pylint: disable=import-outside-toplevel
    torch.set_num_threads(os.cpu_count())
    ta, tb = torch.from_numpy(a_np), torch.from_numpy(b_np)
    fns['matmul torch'] = lambda: torch.mm(ta, tb)
  return fns


def matmul_gflops(n: int = 4096, repeats: int = 7) -> dict:
  """This machine's float32 `[n, n] @ [n, n]` rate in GFLOP/s (from the min time of `repeats`),
  in JAX and, when installed, torch; the two are timed in turn."""
  times = timeit_interleaved(matmul_fns(n), repeats)
  return {'n': n, **{name.split()[1]: 2.0 * n ** 3 / t['min'] / 1e9 for name, t in times.items()}}


def clip_representations(config, seconds: float):
  """The config's content and style clips, each tiled to `seconds`, as representations
  `[frames, features]` (numpy): 10 s at 22,050 Hz, hop 512 gives 431 frames."""
  from ast_jax.audio import io, spectral  # pylint: disable=import-outside-toplevel
  rep = spectral.Representation.from_config(config.representation)
  samples = int(round(seconds * rep.sample_rate))
  out = []
  for path in (config.content, config.style):
    wave = io.load(path, rep.sample_rate)
    wave = np.tile(wave, -(-samples // len(wave)))[:samples]
    out.append(np.asarray(rep(wave)))
  return rep, out[0], out[1]


def write_json(path, obj) -> pathlib.Path:
  """Writes `obj` as indented JSON; a bare file name goes to benchmarks/results/."""
  path = pathlib.Path(path)
  if path.parent == pathlib.Path('.'):
    path = RESULTS / path
  path.parent.mkdir(parents=True, exist_ok=True)
  path.write_text(json.dumps(obj, indent=2, default=_jsonable) + '\n')
  return path


def _jsonable(x):
  if isinstance(x, (np.generic, jax.Array)):
    return np.asarray(x).tolist()
  if isinstance(x, np.ndarray):
    return x.tolist()
  raise TypeError(f'not JSON serialisable: {type(x).__name__}')


def print_table(rows, headers) -> None:
  """Prints `rows` (sequences of cells) under `headers` as a Markdown table; floats to 4 digits."""
  def cell(x):
    return f'{x:.4g}' if isinstance(x, float) else str(x)
  cells = [[cell(x) for x in row] for row in rows]
  widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h)
            for i, h in enumerate(headers)]
  line = lambda r: '| ' + ' | '.join(c.ljust(w) for c, w in zip(r, widths)) + ' |'
  print(line(headers))
  print('|' + '|'.join('-' * (w + 2) for w in widths) + '|')
  for r in cells:
    print(line(r))
