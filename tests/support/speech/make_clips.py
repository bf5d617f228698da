"""Regenerate the committed speech clips with espeak-ng (a maintainer tool; tests only read the WAV files).

Usage: ``python tests/support/speech/make_clips.py`` (needs ``espeak-ng`` on PATH, plus numpy and scipy).
espeak-ng writes 22.05 kHz mono 16-bit WAV; the clips are resampled by 320/441 to 16 kHz, the rate of every
speech model in the tests, so that tests exercise the models rather than the resampler.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import wave
from pathlib import Path

import numpy as np
from scipy.signal import resample_poly

# name -> (text, seconds of digital silence prepended). Without the lead-in, greedy tiny.en opens "hello.wav" with
# "The World" (" Hello" loses the first step by < 0.2 logits, too close to survive other CPUs' float rounding);
# 1 s of silence makes " Hello" win by ~2.2 logits. The other clips transcribe best as synthesised.
CLIPS = {
    "hello": ("Hello world, this is a test of the speech recognition system.", 1.0),
    "dog": ("A dog is barking loudly in the park.", 0.0),
    "weather": ("The weather will be sunny and warm tomorrow.", 0.0),
}
VOICE = "en-us"
TARGET_RATE = 16_000


def _read_wav(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path), "rb") as wav:
        if wav.getnchannels() != 1 or wav.getsampwidth() != 2:
            raise ValueError(f"{path}: expected mono 16-bit PCM from espeak-ng")
        return np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2"), wav.getframerate()


def _write_wav(path: Path, samples: np.ndarray, rate: int) -> None:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(samples.astype("<i2").tobytes())


def make_clip(text: str, out: Path, lead_silence_s: float = 0.0) -> None:
    """Synthesise ``text`` and write it as 16 kHz mono 16-bit PCM WAV to ``out``, after ``lead_silence_s`` of zeros."""
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.wav"
        subprocess.run(["espeak-ng", "-v", VOICE, "-w", str(raw), text], check=True)
        samples, rate = _read_wav(raw)
    if rate != 22_050:
        raise ValueError(f"espeak-ng wrote {rate} Hz; the 320/441 ratio below assumes 22050 Hz")
    resampled = resample_poly(samples.astype(np.float64), up=320, down=441)
    pcm = np.clip(np.round(resampled), -32768, 32767)
    _write_wav(out, np.concatenate([np.zeros(round(lead_silence_s * TARGET_RATE)), pcm]), TARGET_RATE)


def main() -> int:
    here = Path(__file__).resolve().parent
    for name, (text, lead) in CLIPS.items():
        make_clip(text, here / f"{name}.wav", lead)
        print(f"{name}.wav: {lead:.1f} s silence + {text!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
