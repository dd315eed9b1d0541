"""Product images are JPEGs whose garment pixels carry the known (ground-truth) colours."""

from __future__ import annotations

import io
import time

import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image

from studiolab.demo import Catalog, DemoShop, garment_mask, label_map
from studiolab.demo.catalog import Product
from studiolab.demo.images import PRODUCT, ImageRenderer, output_size, render_jpeg
from tests.demo.conftest import Client

TOLERANCE = 10  # max per-channel difference after JPEG coding


def decode(data: bytes) -> NDArray[np.int64]:
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG"
    return np.asarray(image.convert("RGB")).astype(int)


def eroded(mask: NDArray[np.bool_], margin: int) -> NDArray[np.bool_]:
    """Drop pixels within `margin` of the mask border (JPEG blurs edges)."""
    inner = mask.copy()
    for axis in (0, 1):
        for shift in (-margin, margin):
            inner &= np.roll(mask, shift, axis=axis)
    return inner


def sample(catalog: Catalog) -> list[Product]:
    """Every category, both patterns, packshots and figures."""
    chosen: dict[tuple[str, str, bool], Product] = {}
    for product in catalog:
        key = (product.category, product.pattern, any(s.figure for s in product.images))
        chosen.setdefault(key, product)
    return list(chosen.values())


def test_served_images_match_ground_truth(shop: DemoShop, client: Client) -> None:
    products = sample(shop.catalog)
    assert len(products) >= 12
    for product in products:
        truth = shop.ground_truth(product.handle)
        for spec in product.images:
            reply = client.get(product.image_path(spec.n))
            assert reply.status == 200 and reply.headers["content-type"] == "image/jpeg"
            pixels = decode(reply.body)
            assert pixels.shape == (1000, 800, 3)
            labels = label_map(product, spec.n, (800, 1000))
            inner = eroded(np.isin(labels, (10, 11)), 4)
            assert inner.sum() > 0.04 * inner.size, (product.handle, spec.n)
            if product.pattern == "solid":
                median = np.median(pixels[inner], axis=0)
                assert np.abs(median - truth.primary.rgb).max() <= TOLERANCE, product.handle
            else:
                first, second = (np.array(c.rgb) for c in truth.colours)
                region = pixels[inner]
                nearer_first = ((region - first) ** 2).sum(1) < ((region - second) ** 2).sum(1)
                measured = nearer_first.mean()
                assert abs(measured - truth.colours[0].fraction) < 0.08, (product.handle, measured)
                median = np.median(region[nearer_first], axis=0)
                assert np.abs(median - first).max() <= TOLERANCE
            background = pixels[5:15, 5:15].reshape(-1, 3).mean(0)
            assert np.abs(background - truth.images[spec.n - 1].background).max() <= 4


def test_dominant_non_background_colour_without_the_mask(shop: DemoShop, client: Client) -> None:
    """On packshots the most common non-background colour is the garment's primary colour."""
    checked = 0
    for product in shop.catalog:
        if product.pattern != "solid" or checked >= 20:
            continue
        spec = next((s for s in product.images if not s.figure), None)
        if spec is None:
            continue
        pixels = decode(client.get(product.image_path(spec.n, 400)).body)
        truth = shop.ground_truth(product.handle)
        background = np.array(truth.images[spec.n - 1].background)
        far = np.abs(pixels - background).max(-1) > 12
        far &= np.abs(pixels - np.array(truth.images[spec.n - 1].shadow)).max(-1) > 12
        quantised = (pixels[far] // 16).astype(np.int64)
        keys = quantised[:, 0] * 256 + quantised[:, 1] * 16 + quantised[:, 2]
        mode = np.bincount(keys).argmax()
        members = pixels[far][keys == mode]
        assert np.abs(members.mean(0) - truth.primary.rgb).max() <= 16, product.handle
        checked += 1
    assert checked == 20


def test_figure_images_contain_skin_and_hair(shop: DemoShop) -> None:
    product = next(p for p in shop.catalog if any(s.figure for s in p.images))
    spec = next(s for s in product.images if s.figure)
    labels = label_map(product, spec.n)
    for label in (2, 3, 5):  # skin, hair, shoes
        assert (labels == label).sum() > 100
    truth = shop.ground_truth(product.handle).images[spec.n - 1]
    assert truth.skin is not None and truth.hair is not None
    if product.category != "dress":
        assert truth.styling is not None and (labels == 4).sum() > 1000


def test_srcset_widths_and_aspect(shop: DemoShop, client: Client) -> None:
    product = shop.catalog[5]
    for width, height in ((400, 500), (800, 1000), (123, 154)):
        image = Image.open(io.BytesIO(client.get(product.image_path(1, width)).body))
        assert image.size == (width, height)
    assert output_size(10) == (64, 80) and output_size(99999)[0] == 2400
    small = garment_mask(product, 1, (400, 500))
    large = garment_mask(product, 1, (800, 1000))
    assert abs(small.mean() - large.mean()) < 0.01


def test_render_is_fast_and_cached() -> None:
    catalog = Catalog(60)
    jobs = [(p, s.n) for p in catalog for s in p.images][:60]
    render_jpeg(*jobs[0])  # warm-up
    started = time.perf_counter()
    for product, n in jobs:
        render_jpeg(product, n)
    per_image_ms = (time.perf_counter() - started) / len(jobs) * 1000
    assert per_image_ms < 20, f"{per_image_ms:.1f} ms per 800x1000 image"
    renderer = ImageRenderer(cache_size=2)
    product = catalog[0]
    first = renderer.jpeg(product, 1)
    assert renderer.jpeg(product, 1) is first and renderer.hits == 1
    renderer.jpeg(product, 1, 400)
    renderer.jpeg(catalog[1], 1)
    renderer.jpeg(product, 1)  # evicted (capacity 2) and rendered again, identically
    assert renderer.renders == 4 and renderer.jpeg(product, 1) == first


@pytest.mark.parametrize("index", [0, 1, 2])
def test_images_are_deterministic(index: int) -> None:
    product = Catalog(10)[index]
    assert render_jpeg(product, 1) == render_jpeg(product, 1)
    assert (label_map(product, 1) == PRODUCT).any()
