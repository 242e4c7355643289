"""The project's images the charts run, by digest (images/: their Dockerfiles).

No image is built or pushed from this repository's machines (README, "Images"): the digests are the
all-zero placeholder until the release that pushes an image sets its digest here.
"""

PLACEHOLDER_DIGEST = "sha256:" + "0" * 64
PYTHON_SERVICES = {"repository": "waardhaven/python-services", "digest": PLACEHOLDER_DIGEST}
PYTHON_SERVICES_UID = 10001  # its non-root user (images/python-services/Dockerfile)
SPARK_BATCH = {"repository": "waardhaven/spark-batch", "digest": PLACEHOLDER_DIGEST}
SPARK_BATCH_UID = 185  # the official Spark image's spark user (images/spark/Dockerfile)
# Where that image holds the daily batch, as the Spark operator's `local://` file.
SPARK_BATCH_MAIN = "local:///opt/waardhaven/app/batch/daily_job.py"
