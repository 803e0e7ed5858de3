"""Data loading with ``torch.utils.data``'s names: datasets, samplers, DataLoader,
collation, transforms, downloads (:mod:`chainrule.data.download`) and the dataset
registry (:mod:`chainrule.data.datasets`)."""
from chainrule.data.collate import default_collate, default_convert
from chainrule.data.dataset import (ConcatDataset, Dataset, IterableDataset, Subset,
                                    TensorDataset, random_split)
from chainrule.data.loader import DataLoader, get_worker_info
from chainrule.data.sampler import (BatchSampler, RandomSampler, Sampler, SequentialSampler,
                                    SubsetRandomSampler, WeightedRandomSampler,
                                    DistributedSampler)
from chainrule.data import transforms, download, datasets  # noqa: E402

__all__ = ["Dataset", "IterableDataset", "TensorDataset", "Subset", "ConcatDataset",
           "random_split", "Sampler", "SequentialSampler", "RandomSampler",
           "SubsetRandomSampler", "WeightedRandomSampler", "BatchSampler", "DistributedSampler", "DataLoader",
           "get_worker_info", "default_collate", "default_convert", "transforms",
           "download", "datasets"]
