import atexit
import os
import shutil
import tempfile

# Hub look-ups must fail at once: nothing here may reach a model or data hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
# Sentence vectors cached across runs go to a fresh file, never the user's cache.
_EMBEDDINGS = tempfile.mkdtemp(prefix="vl4gaze-embeddings-")
atexit.register(shutil.rmtree, _EMBEDDINGS, ignore_errors=True)
os.environ.setdefault("VL4GAZE_EMBEDDINGS_CACHE", os.path.join(_EMBEDDINGS, "embeddings.sqlite"))
