"""pfdet: PFDet (Open Images Challenge 2018, 2nd place) on Chainer, ChainerCV and ChainerMN."""

__version__ = '0.1.0'
