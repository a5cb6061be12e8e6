"""ast-jax: audio style transfer in JAX."""

import setuptools

setuptools.setup(
    name='ast_jax',
    version='0.1.0',
    description='Audio style transfer in JAX: spectrogram optimisation, classifiers, twin '
                'autoencoders, and a benchmark.',
    long_description=open('README.md', encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    python_requires='>=3.11',
    packages=setuptools.find_packages(include=['ast_jax', 'ast_jax.*', 'data_prep', 'data_prep.*']),
    package_data={'ast_jax': ['assets/*.ogg', 'assets/*.md']},
    install_requires=[
        'jax>=0.10.2',
        'flax>=0.12.8',
        'optax>=0.2.8',
        'orbax-checkpoint>=0.12.8',
        'tensorflow-datasets>=4.9.10',
        'importlib_resources>=6.4',  # tfds needs it without TensorFlow and does not declare it
        'grain>=0.2.18',
        'librosa>=0.11.0',
        'soundfile>=0.13.1',
        'absl-py>=2.1.0',
        'ml-collections>=1.1.0',
        'matplotlib>=3.9',
        'tqdm>=4.66',
        'numpy>=2.0',
    ],
    extras_require={
        # The test suite also renders MIDI (data_prep/synth.py); tinysoundfont itself is installed
        # with --no-deps (its pyaudio dependency does not build; see README).
        'test': ['pytest>=8.0', 'pytest-xdist>=3.6', 'music21>=9.1', 'pretty_midi>=0.2.10',
                 'mido>=1.3'],
        'data': ['music21>=9.1', 'pretty_midi>=0.2.10', 'mido>=1.3'],
        # Exactly 2.13.0: the CPU wheel; a range admitting newer releases pulls GBs of CUDA.
        'bench': ['torch==2.13.0'],
    },
)
