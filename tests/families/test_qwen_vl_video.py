"""Video into Qwen-VL embedders without torchvision (issue 8, point 3).

omniembed decodes and samples video files with PyAV, picking the frames the model's video processor would pick
(``families.qwen_vl.video_sampling``), then hands them to the processor with their source metadata. The tests hold
that to transformers' own ``Qwen3VLVideoProcessor`` / ``Qwen2VLVideoProcessor`` logic run on *every* decoded frame
(its sampling, timestamps, grids), check paths, URLs and bytes agree, and check the pixel / frame budgets.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from support.media import encode_video, index_frame, read_index

from omniembed import SentenceTransformer
from omniembed.families.qwen_vl import ASSUMED_SOURCE_FPS, load_processor, video_sampling
from omniembed.inputs import FetchPolicy, MediaLimits, MediaOptions, VideoSampling, load_video
from omniembed.inputs.video import sample_indices

VL = ("qwen2_vl", "qwen2_5_vl", "qwen3_vl")


@pytest.fixture(scope="module")
def embedders(qwen_suite):
    import logging
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logging.getLogger("transformers").setLevel(logging.ERROR)
        yield {f: SentenceTransformer(str(qwen_suite[f"{f}/embedder"]), device="cpu") for f in VL}


def _capture(model, call):
    seen = []
    handle = model[0].register_forward_pre_hook(lambda module, args: seen.append(dict(args[0])))
    try:
        out = call()
    finally:
        handle.remove()
    return out, seen


def _direct(model, frames: np.ndarray, fps: float) -> tuple[np.ndarray, dict]:
    """transformers' processor on every frame, sampling by itself with the source metadata, then the backbone:
    what the reference computes for a decoded video (its processor call, one item)."""
    processor = model.processor
    conversation = [{"role": "user", "content": [{"type": "video", "video": list(frames)}]}]
    features = processor.apply_chat_template(
        [conversation], tokenize=True, return_dict=True, return_tensors="pt",
        processor_kwargs={"videos_kwargs": {"video_metadata": [{"fps": fps, "total_num_frames": len(frames)}]}},
    )
    features.pop("video_metadata", None)
    with torch.inference_mode():
        hidden = model[0].auto_model(**features).last_hidden_state
    pooled = torch.nn.functional.normalize(hidden[0, -1], dim=-1).numpy()
    return pooled, features


@pytest.fixture(scope="module")
def clip40(tmp_path_factory) -> tuple[str, np.ndarray]:
    """40 frames at 10 fps whose frame index survives H.264, and the frames PyAV decodes from it."""
    path = str(tmp_path_factory.mktemp("qwen_video") / "clip40.mp4")
    encode_video([index_frame(i, 48) for i in range(40)], fps=10, path=path)
    decoded = load_video(path, sampling=VideoSampling(fps=None)).frames
    assert [read_index(f) for f in decoded] == list(range(40))
    return path, decoded


def test_a_video_file_embeds_as_the_processor_computes_it_on_every_frame(embedders, clip40):
    path, every_frame = clip40
    model = embedders["qwen3_vl"]
    ours, seen = _capture(model, lambda: model.encode([path]))
    direct, features = _direct(model, every_frame, fps=10.0)
    assert seen[0]["input_ids"][0].tolist() == features["input_ids"][0].tolist()  # grid, timestamps, token count
    assert seen[0]["video_grid_thw"].tolist() == features["video_grid_thw"].tolist() == [[4, 4, 4]]  # 8 frames; budget covers all
    torch.testing.assert_close(seen[0]["pixel_values_videos"], features["pixel_values_videos"], rtol=0, atol=0)
    assert "<0.3 seconds>" in model.tokenizer.decode(features["input_ids"][0])  # frames 0 and 6 of 40 at 10 fps
    np.testing.assert_allclose(ours[0], direct, atol=1e-5)


def test_only_the_sampled_frames_are_decoded_and_kept(embedders, clip40):
    path, _ = clip40
    model = embedders["qwen3_vl"]
    clip = load_video(path, sampling=model[0].media_hints("video")["video_sampling"])
    # Qwen3VLVideoProcessor: int(40 / 10 fps * 2 fps) = 8 frames, round(linspace(0, 39, 8))
    assert clip.frame_indices == [0, 6, 11, 17, 22, 28, 33, 39]
    assert [read_index(f) for f in clip.frames] == clip.frame_indices


@pytest.mark.parametrize("family", ["qwen2_vl", "qwen2_5_vl"])
def test_qwen2_video_files_use_every_frame_like_the_processor(family, embedders, tmp_path):
    # Qwen2-VL's processor does not sample (do_sample_frames=False): every frame up to max_frames (8 here)
    path = encode_video([index_frame(i, 56) for i in range(6)], fps=3, path=str(tmp_path / "six.mp4"))
    model = embedders[family]
    every_frame = load_video(path, sampling=VideoSampling(fps=None)).frames
    ours, seen = _capture(model, lambda: model.encode([path]))
    direct, features = _direct(model, every_frame, fps=3.0)
    assert seen[0]["video_grid_thw"].tolist() == features["video_grid_thw"].tolist() == [[3, 4, 4]]
    assert seen[0]["input_ids"][0].tolist() == features["input_ids"][0].tolist()
    torch.testing.assert_close(seen[0]["pixel_values_videos"], features["pixel_values_videos"], rtol=0, atol=0)
    np.testing.assert_allclose(ours[0], direct, atol=1e-5)
    if family == "qwen2_5_vl":  # temporal_patch_size / sampled fps: two frames per grid step at 3 fps
        np.testing.assert_allclose(np.asarray(seen[0]["second_per_grid_ts"]), [2 / 3], rtol=1e-6)


def test_paths_urls_bytes_and_frame_arrays_agree(embedders, clip40, tmp_path):
    import functools
    import http.server
    import threading

    path, _ = clip40
    data = Path(path).read_bytes()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(Path(path).parent))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/clip40.mp4"
        media = MediaOptions(fetch=FetchPolicy(allow_private_hosts=frozenset({"127.0.0.1"})))
        model = embedders["qwen3_vl"]
        out = model.encode([path, {"video": url}, {"video": data}], media=media)
    finally:
        server.shutdown()
        server.server_close()
    np.testing.assert_allclose(out[1], out[0], atol=1e-6)
    np.testing.assert_allclose(out[2], out[0], atol=1e-6)


@pytest.mark.parametrize("total,source_fps,options", [
    (8, None, {}), (5, None, {}), (2, None, {}), (40, 10.0, {}), (7, 4.0, {}), (600, 1.0, {}), (100, 30.0, {}),
    (40, 10.0, {"fps": 1}), (40, 10.0, {"num_frames": 5}), (9, 25.0, {"num_frames": 4}), (40, 10.0, {"max_frames": 3}),
])
def test_decoder_sampling_equals_qwen3_video_processor(total, source_fps, options, qwen_suite):
    from transformers.video_utils import VideoMetadata

    processor = load_processor(str(qwen_suite["qwen3_vl/raw"]), "qwen3_vl", processor_kwargs={}, hub_kwargs={})
    video_processor = processor.video_processor
    sampling = video_sampling(video_processor, options)
    ours = sample_indices(total, source_fps, sampling, MediaLimits())
    call = {k: v for k, v in options.items() if k in ("fps", "num_frames")}
    if "max_frames" in options:
        video_processor = type(video_processor)(**{**video_processor.to_dict(), "max_frames": options["max_frames"]})
    metadata = VideoMetadata(total_num_frames=total, fps=source_fps)
    expected = video_processor.sample_frames(metadata, **call)
    assert ours == [int(i) for i in expected]
    if source_fps is None:
        assert metadata.fps == ASSUMED_SOURCE_FPS  # the processor assumed it too


@pytest.mark.parametrize("family", VL)
def test_two_identical_frames_embed_consistently_with_the_still(family, embedders, qwen_reference):
    """Qwen2/2.5-VL patchify a still image as two identical frames: a two-frame video of that image is the same
    input (cosine 1). Qwen3-VL's video prompt adds a timestamp and nested vision tokens: close, not equal, and
    exactly as close as in the reference."""
    from support.qwen_inputs import image_array

    image = np.array(image_array("aligned16"))
    model = embedders[family]
    video, still = model.encode([{"video": np.stack([image, image])}, image],
                                processing_kwargs={"video": {"do_sample_frames": False}})
    cosine = float(video @ still)
    reference = qwen_reference.array(f"{family}/embedder:still2_vs_image")
    assert cosine == pytest.approx(float(reference[0] @ reference[1]), abs=1e-5)
    if family == "qwen3_vl":
        assert 0.98 < cosine < 0.9999
    else:
        assert cosine == pytest.approx(1.0, abs=1e-6)


def _visual_tokens(features: dict, key: str, merge: int) -> int:
    return int(features[key].prod(-1).sum()) // merge**2


@pytest.mark.parametrize("family", VL)
def test_a_12_megapixel_photo_stays_within_max_pixels(family, embedders, tmp_path):
    from PIL import Image

    path = tmp_path / "photo.jpg"
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (3000, 4000, 3), dtype=np.uint8)).save(path, quality=80)
    model = embedders[family]
    image_processor = model.processor.image_processor
    merge = image_processor.merge_size
    unit = (image_processor.patch_size * merge) ** 2
    _, seen = _capture(model, lambda: model.encode([str(path)]))
    assert _visual_tokens(seen[0], "image_grid_thw", merge) <= image_processor.size["longest_edge"] // unit
    budget = 4 * unit  # a per-call cap, in the reference's size form
    _, seen = _capture(model, lambda: model.encode(
        [str(path)], processing_kwargs={"image": {"size": {"shortest_edge": unit, "longest_edge": budget}}}))
    assert _visual_tokens(seen[0], "image_grid_thw", merge) <= 4


@pytest.mark.parametrize("family", VL)
def test_a_10_minute_video_stays_within_the_frame_and_pixel_budget(family, embedders, tmp_path):
    path = encode_video((index_frame(i, 64) for i in range(600)), fps=1, path=str(tmp_path / "ten_minutes.mp4"))
    model = embedders[family]
    video_processor = model.processor.video_processor
    merge, patch = video_processor.merge_size, video_processor.patch_size
    _, seen = _capture(model, lambda: model.encode([path]))
    grid = seen[0]["video_grid_thw"]
    frames = int(grid[0, 0]) * video_processor.temporal_patch_size
    assert frames <= video_processor.max_frames  # 8 in the tiny config: not 600 frames
    per_frame_budget = video_processor.size["longest_edge"] // (patch * merge) ** 2
    budget = per_frame_budget * (1 if family == "qwen3_vl" else frames)  # Qwen3-VL: the budget covers all frames
    assert _visual_tokens(seen[0], "video_grid_thw", merge) <= budget
    if family == "qwen3_vl":  # the timestamps span the whole ten minutes
        text = model.tokenizer.decode(seen[0]["input_ids"][0])
        assert "<43.0 seconds>" in text and "<556.0 seconds>" in text


def test_saved_video_settings_round_trip(embedders, tmp_path):
    model = embedders["qwen3_vl"]
    model.save(str(tmp_path / "saved"))
    config = json.loads((tmp_path / "saved" / "processor_config.json").read_text())
    assert config["processor_class"] == "Qwen3VLProcessor"
    assert config["video_processor"]["video_processor_type"] == "Qwen3VLVideoProcessor"
    assert config["image_processor"]["image_processor_type"] == "Qwen2VLImageProcessor"
    tokenizer_config = json.loads((tmp_path / "saved" / "tokenizer_config.json").read_text())
    assert tokenizer_config.get("processor_class", "Qwen3VLProcessor") == "Qwen3VLProcessor"
    again = SentenceTransformer(str(tmp_path / "saved"), device="cpu")
    frames = np.stack([index_frame(i, 48) for i in range(8)])
    np.testing.assert_array_equal(again.encode([{"video": frames}]), model.encode([{"video": frames}]))
