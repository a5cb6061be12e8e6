"""Seconds per optimisation step of the Ulyanov & Lebedev transfer loss, JAX against PyTorch.

One step = the loss and its gradient with respect to the representation being optimised (what
L-BFGS or Adam asks for): `[frames, 1025]` log1p |STFT| -> Conv1D (width 11, VALID, no bias) ->
ReLU -> content loss + Gram style loss, weighted by the config's alpha and beta. JAX runs the
project's own UlyanovCNN and objectives.transfer_losses under jit(value_and_grad); PyTorch runs a
straightforward conv1d + autograd version of the same loss with the same weights and inputs, and
the script checks that both give the same loss and gradient before timing them.

  python benchmarks/transfer_step.py                        # 10 s clip, 4096 filters (issue 11a)
  python benchmarks/transfer_step.py --filters 512 --seconds 2 --repeats 3
"""

import argparse
import os
import pathlib
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))  # runs from anywhere

import jax  # pylint: disable=wrong-import-position
import jax.numpy as jnp  # pylint: disable=wrong-import-position
import numpy as np  # pylint: disable=wrong-import-position
import torch  # pylint: disable=wrong-import-position

from ast_jax import objectives  # pylint: disable=wrong-import-position
from ast_jax.models import shallow  # pylint: disable=wrong-import-position
from benchmarks import common  # pylint: disable=wrong-import-position
from configs import transfer as transfer_config  # pylint: disable=wrong-import-position

TARGET_MATMUL_FRACTION = 0.75  # issue 11(a): JAX at >= 75 % of the measured matmul rate


def step_flops(frames: int, feats: int, filters: int, width: int) -> dict:
  """Analytic FLOPs of one loss + input-gradient evaluation (multiply-add = 2 FLOPs).

  M' = frames - width + 1 output positions (VALID). The conv is an [M', width*feats] x
  [width*feats, filters] product forward and the same size backward to the input (no weight
  gradient: the weights are fixed). The Gram F^T F / M' is 2 M' N^2 forward; its backward,
  dF = F (dG + dG^T) / M', is one more product of that size. Small terms: ReLU (1 + 1),
  content difference, square, sum and backward (~6) per feature; Gram difference (~5) per entry.
  This is the least work the Gram form needs (objectives.gram's custom VJP makes its backward one
  product).
  """
  m = frames - width + 1
  k, n = width * feats, filters
  terms = {
      'conv_forward': 2 * m * k * n,
      'conv_input_grad': 2 * m * k * n,
      'gram_forward': 2 * m * n * n,
      'gram_backward': 2 * m * n * n,
      'small': 8 * m * n + 5 * n * n,
  }
  terms['total'] = sum(terms.values())
  return terms


def factored_flops(frames: int, style_frames: int, feats: int, filters: int, width: int) -> int:
  """FLOP of the step with the factored style loss (objectives.style_layer_loss_factored): the
  convolution as in step_flops, then F F^T (2 M'^2 N) and F S^T (2 M' Ms' N) forward, and their
  backward as autodiff runs it (two M' x M' x N products, one M' x Ms' x N)."""
  m, ms = frames - width + 1, style_frames - width + 1
  k, n = width * feats, filters
  return 4 * m * k * n + 6 * m * m * n + 4 * m * ms * n + 8 * m * n


def jax_step(extractor, content, style, alpha, beta, form='gram'):
  """jit(value_and_grad) of the project's loss as transfer.optimise builds it, and its arguments
  after x: `f(x [1, T, F], params, targets)` -> (loss, gradient `[1, T, F]`). Weights and targets
  are arguments, as in optimise: a closed-over array would be compiled in as a constant.
  form: 'gram' (Gatys' N x N Gram) or 'factored' (objectives.StyleFeatures)."""
  apply, params = extractor.apply, extractor.params
  target = objectives.gram if form == 'gram' else objectives.StyleFeatures.of
  targets = (apply(params, content[None]),
             {k: target(v) for k, v in apply(params, style[None]).items()})
  layers = {'conv': 1.0}

  def loss(x, params, targets):
    terms = objectives.transfer_losses(x, apply(params, x), *targets, content_weights=layers,
                                       style_weights=layers, alpha=alpha, beta=beta, gamma=0.0)
    return terms['total'][0]

  return jax.jit(jax.value_and_grad(loss)), (params, targets)


def jax_step_xla_conv(kernel, content, style, alpha, beta):
  """The same loss with XLA's convolution instead of the project's im2col matmul (for reference);
  returns the jitted function and its arguments after x, as jax_step."""
  def feats(x, kernel):  # [1, T, F] -> [1, M, N]
    return jax.nn.relu(jax.lax.conv_general_dilated(
        x, kernel, (1,), 'VALID', dimension_numbers=('NWC', 'WIO', 'NWC')))
  targets = (feats(content[None], kernel), objectives.gram(feats(style[None], kernel)))

  def loss(x, kernel, targets):
    f = feats(x, kernel)
    return (alpha * objectives.content_loss(f, targets[0])
            + beta * objectives.style_layer_loss(objectives.gram(f), targets[1]))[0]

  return jax.jit(jax.value_and_grad(loss)), (kernel, targets)


class TorchLoss:
  """The Ulyanov loss in plain PyTorch: conv1d [filters, feats, width], ReLU, Gram F^T F / M."""

  def __init__(self, kernel_wio: np.ndarray, content: np.ndarray, style: np.ndarray, alpha, beta):
    self.weight = torch.from_numpy(np.ascontiguousarray(kernel_wio.transpose(2, 1, 0)))
    self.alpha, self.beta = alpha, beta
    with torch.no_grad():
      self.content_f = self.features(self.channels_first(content))
      self.style_g = self.gram(self.features(self.channels_first(style)))

  @staticmethod
  def channels_first(rep: np.ndarray) -> torch.Tensor:  # [T, F] -> [1, F, T], conv1d's layout
    return torch.from_numpy(np.ascontiguousarray(rep.T[None]))

  def features(self, x):  # [1, F, T] -> [M, N]
    return torch.relu(torch.nn.functional.conv1d(x, self.weight))[0].T

  @staticmethod
  def gram(f):
    return f.T @ f / f.shape[0]

  def __call__(self, x):
    f = self.features(x)
    n = f.shape[1]
    content = 0.5 * torch.sum((f - self.content_f) ** 2)
    style = torch.sum((self.gram(f) - self.style_g) ** 2) / (4.0 * n * n)
    return self.alpha * content + self.beta * style


def main():
  parser = argparse.ArgumentParser(description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('--filters', type=int, default=4096, help='Conv1D filters (Ulyanov: 4096)')
  parser.add_argument('--seconds', type=float, default=10.0,
                      help='length of the content and style clips in s (10 s = 431 frames)')
  parser.add_argument('--repeats', type=int, default=10,
                      help='timed steps per implementation (>= 5); the min and median are reported')
  parser.add_argument('--no-xla-conv', action='store_true',
                      help="skip the extra row that times XLA's convolution instead of im2col")
  parser.add_argument('--json', default=None,
                      help='result file (default: benchmarks/results/'
                           'transfer_step_<filters>_<s>s.json)')
  args = parser.parse_args()
  torch.set_num_threads(os.cpu_count())

  config = transfer_config.get_config()
  config.features.filters = args.filters  # beta = 4 N^2 follows through a FieldReference
  alpha, beta = float(config.transfer.alpha), float(config.transfer.beta)
  rep, content, style = common.clip_representations(config, args.seconds)
  frames, feats = content.shape
  extractor = shallow.build_feature_extractor(config.features, rep.num_features)
  kernel = np.asarray(extractor.params['conv']['kernel'][...])  # [width, feats, filters]
  width = kernel.shape[0]
  # The point of evaluation: Ulyanov's start, N(0, 1e-3) noise (transfer.init = 'noise').
  x_np = (config.transfer.noise_std
          * np.random.default_rng(0).standard_normal(content.shape)).astype(np.float32)
  print(f'{args.seconds:g} s clips: {frames} frames x {feats} features, {args.filters} filters of '
        f'width {width}; alpha {alpha:g}, beta {beta:g}')

  # JAX: compile once (timed separately), then time the compiled step.
  x_jax = jnp.asarray(x_np)[None]
  fn, fn_args = jax_step(extractor, jnp.asarray(content), jnp.asarray(style), alpha, beta)
  t = time.perf_counter()
  jax_fn = fn.lower(x_jax, *fn_args).compile()
  compile_s = time.perf_counter() - t
  loss_j, grad_j = jax_fn(x_jax, *fn_args)
  grad_j = np.asarray(grad_j[0])

  # PyTorch, same weights and inputs.
  torch_loss = TorchLoss(kernel, content, style, alpha, beta)
  x_t = TorchLoss.channels_first(x_np).requires_grad_(True)

  def torch_step():
    x_t.grad = None
    loss = torch_loss(x_t)
    loss.backward()
    return loss

  loss_t = torch_step().item()
  grad_t = x_t.grad[0].T.numpy()
  loss_rel = abs(loss_t - float(loss_j)) / abs(float(loss_j))
  grad_rel = float(np.max(np.abs(grad_t - grad_j)) / np.max(np.abs(grad_j)))
  print(f'agreement: loss jax {float(loss_j):.6g} torch {loss_t:.6g} (rel. diff {loss_rel:.2e}); '
        f'gradient max |diff| / max |grad| = {grad_rel:.2e}')

  fac_fn, fac_args = jax_step(extractor, jnp.asarray(content), jnp.asarray(style), alpha, beta,
                              form='factored')
  loss_f, grad_f = fac_fn(x_jax, *fac_args)
  fac_rel = (abs(float(loss_f) - float(loss_j)) / abs(float(loss_j)),
             float(np.max(np.abs(np.asarray(grad_f[0]) - grad_j)) / np.max(np.abs(grad_j))))
  print(f'factored style loss against the Gram form: loss rel. diff {fac_rel[0]:.2e}, gradient '
        f'max |diff| / max |grad| = {fac_rel[1]:.2e}')
  steps = {'jax (UlyanovCNN im2col, jit)': lambda: jax.block_until_ready(jax_fn(x_jax, *fn_args)),
           'jax factored style loss': lambda: jax.block_until_ready(fac_fn(x_jax, *fac_args)),
           'pytorch (conv1d, autograd)': torch_step}
  if not args.no_xla_conv:
    xla_fn, xla_args = jax_step_xla_conv(jnp.asarray(kernel), jnp.asarray(content),
                                         jnp.asarray(style), alpha, beta)
    steps['jax (lax.conv, jit)'] = lambda: jax.block_until_ready(xla_fn(x_jax, *xla_args))
  # The machine's matmul rate, timed in the same loop so that load from other processes hits the
  # steps and the matmuls alike; the best of JAX and torch is the roofline.
  matmul_n = 4096
  times = common.timeit_interleaved({**steps, **common.matmul_fns(matmul_n)}, args.repeats)
  rows = [(name, times[name]) for name in steps]
  jax_t, torch_t = times['jax (UlyanovCNN im2col, jit)'], times['pytorch (conv1d, autograd)']
  matmul = {'n': matmul_n, **{name.split()[1]: 2.0 * matmul_n ** 3 / t['min'] / 1e9
                              for name, t in times.items() if name.startswith('matmul')}}
  roof = max(matmul['jax'], matmul.get('torch', 0.0))
  flops = step_flops(frames, feats, args.filters, width)
  gflop = flops['total'] / 1e9
  print(f'\nFLOP per step {gflop:.2f} G; 4096^2 float32 matmul: JAX {matmul["jax"]:.1f}, '
        f'torch {matmul.get("torch", float("nan")):.1f} GFLOP/s (roofline = the best)\n')
  row_gflop = {name: gflop for name in steps}
  row_gflop['jax factored style loss'] = factored_flops(frames, frames, feats, args.filters,
                                                        width) / 1e9
  table = []
  for name, t_ in rows:
    rate = row_gflop[name] / t_['min']
    table.append([name, t_['min'], t_['median'], torch_t['min'] / t_['min'], rate, rate / roof])
  common.print_table(table, ['implementation', 'step s (min)', 'step s (median)',
                             'torch/this (min)', 'GFLOP/s (min)', 'of matmul rate'])
  print(f'(GFLOP/s of each row on its own FLOP count: {row_gflop["jax factored style loss"]:.1f} G '
        f'for the factored form, the same loss through M x M products; the targets below are for '
        f'the Gram form, the computation PyTorch runs.)')
  print(f'\nJAX compile: {compile_s:.2f} s (once per shape). Timings: {args.repeats} steps of each '
        f'after 1 warm-up, in turn with the matmuls; min and median (the CPU is shared with other '
        f'processes).')
  ratio = torch_t['min'] / jax_t['min']
  fraction = gflop / jax_t['min'] / roof
  targets = {
      'jax_at_least_as_fast_as_torch': bool(ratio >= 1.0),
      'jax_at_75pct_of_matmul_rate': bool(fraction >= TARGET_MATMUL_FRACTION),
  }
  print(f'target: JAX at least as fast as PyTorch per step: torch/jax = {ratio:.3f} -> '
        f'{"met" if targets["jax_at_least_as_fast_as_torch"] else "NOT met"}')
  print(f'target: JAX at >= {TARGET_MATMUL_FRACTION:.0%} of the matmul rate: {fraction:.1%} -> '
        f'{"met" if targets["jax_at_75pct_of_matmul_rate"] else "NOT met"}')

  path = common.write_json(
      args.json or f'transfer_step_{args.filters}_{args.seconds:g}s.json',
      {'machine': common.machine_info(), 'args': vars(args),
       'shape': {'frames': frames, 'features': feats, 'filters': args.filters, 'width': width},
       'flops': flops, 'matmul_gflops': matmul, 'jax_compile_s': compile_s,
       'agreement': {'loss_jax': float(loss_j), 'loss_torch': loss_t, 'loss_rel_diff': loss_rel,
                     'grad_max_rel_diff': grad_rel, 'factored_loss_rel_diff': fac_rel[0],
                     'factored_grad_max_rel_diff': fac_rel[1]},
       'row_gflop': row_gflop,
       'timings_s': times,
       'steps': {name: {**t_, 'gflops': row_gflop[name] / t_['min'],
                        'matmul_fraction': row_gflop[name] / t_['min'] / roof}
                 for name, t_ in rows},
       'torch_over_jax': ratio, 'targets': targets})
  print(f'wrote {path}')


if __name__ == '__main__':
  main()
