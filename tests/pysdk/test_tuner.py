"""The real SageMaker Python SDK's HyperparameterTuner against sagemock (clock rate 100).

fit(wait=True) creates the tuning job and polls DescribeHyperParameterTuningJob (every 5 s of
wall time: about 500 simulated seconds, so each fit takes one poll); best_training_job(),
describe(), analytics().dataframe() (ListTrainingJobsForHyperParameterTuningJob: the SDK's
tuning analytics read no CloudWatch metric), HyperparameterTuner.attach() and
best_estimator() then read what the tuning job did. Every response is checked against the
service models (conftest.py).
"""

import pytest

from sagemaker.estimator import Estimator
from sagemaker.exceptions import UnexpectedStatusException
from sagemaker.tuner import (CategoricalParameter, ContinuousParameter, HyperparameterTuner,
                             IntegerParameter)

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-training:1"
ACC = {"Name": "validation:accuracy", "Regex": r"validation:accuracy=([0-9\.]+)"}
LOSS = {"Name": "train:loss", "Regex": r"train:loss=([0-9\.]+)"}
RANGES = {"learning_rate": ContinuousParameter(0.0001, 0.1, scaling_type="Logarithmic"),
          "num_layers": IntegerParameter(1, 8),
          "optimizer": CategoricalParameter(["sgd", "adam"])}


def estimator(session, image=IMAGE, scenario=None):
    tags = [{"Key": "sagemock:scenario", "Value": scenario}] if scenario else None
    return Estimator(image_uri=image, role="arn:aws:iam::123456789012:role/SageMakerRole",
                     instance_count=1, instance_type="ml.m5.xlarge",
                     output_path="s3://my-bucket/output", sagemaker_session=session,
                     hyperparameters={"epochs": "4"}, metric_definitions=[LOSS, ACC], tags=tags)


def tuner(session, scenario=None, **kw):
    args = dict(objective_metric_name="validation:accuracy", hyperparameter_ranges=RANGES,
                metric_definitions=[LOSS, ACC], max_jobs=6, max_parallel_jobs=2,
                strategy="Bayesian", objective_type="Maximize")
    args.update(kw)
    return HyperparameterTuner(estimator(session, scenario=scenario), **args)


def test_fit_best_training_job_analytics_and_attach(session, capsys):
    t = tuner(session)
    # The SDK names a tuning job <base>-<yymmdd>-<hhmm> of the wall clock: two fits in one
    # minute would collide (as on AWS), so each test names its job.
    t.fit({"train": "s3://my-bucket/train"}, wait=True, include_cls_metadata=False,
          job_name="sdk-tuner-best")
    name = t.latest_tuning_job.name
    desc = t.describe()
    assert desc["HyperParameterTuningJobStatus"] == "Completed"
    assert desc["TrainingJobStatusCounters"]["Completed"] == 6
    best = t.best_training_job()
    assert best == desc["BestTrainingJob"]["TrainingJobName"]
    assert best.startswith(f"{name}-")

    df = t.analytics().dataframe()
    assert len(df) == 6
    assert set(df["TrainingJobStatus"]) == {"Completed"}
    assert {"learning_rate", "num_layers", "optimizer", "FinalObjectiveValue",
            "TrainingElapsedTimeSeconds"} <= set(df.columns)
    top = df.sort_values("FinalObjectiveValue", ascending=False).iloc[0]
    assert top["TrainingJobName"] == best
    assert top["FinalObjectiveValue"] == \
        desc["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]
    assert (df["TrainingElapsedTimeSeconds"] == 7.0).all()  # default scenario: 3 s to 10 s
    print(f"\n{name}: best {best}\n"
          f"{df[['TrainingJobName', 'learning_rate', 'num_layers', 'optimizer', 'FinalObjectiveValue']].to_string()}")

    attached = HyperparameterTuner.attach(name, sagemaker_session=session)
    assert attached.best_training_job() == best
    assert attached.estimator.image_uri == IMAGE
    assert attached.max_jobs == 6 and attached.max_parallel_jobs == 2
    assert attached.early_stopping_type == "Off"
    assert set(attached.hyperparameter_ranges()) == {"ContinuousParameterRanges",
                                                     "IntegerParameterRanges",
                                                     "CategoricalParameterRanges"}
    best_est = attached.best_estimator()
    assert best_est.latest_training_job.name == best
    assert best_est.model_data == f"s3://my-bucket/output/{best}/output/model.tar.gz"


def test_fit_without_waiting_then_wait_and_stop(session):
    t = tuner(session, max_jobs=4, max_parallel_jobs=1)
    t.fit({"train": "s3://my-bucket/train"}, wait=False, include_cls_metadata=False,
          job_name="sdk-tuner-wait")
    assert t.describe()["HyperParameterTuningJobStatus"] == "InProgress"
    t.wait()
    assert t.describe()["HyperParameterTuningJobStatus"] == "Completed"

    long = tuner(session, scenario="long-running", max_jobs=4, max_parallel_jobs=2)
    long.fit({"train": "s3://my-bucket/train"}, wait=False, include_cls_metadata=False,
             job_name="sdk-tuner-stop")
    long.stop_tuning_job()
    long.wait()
    d = long.describe()
    assert d["HyperParameterTuningJobStatus"] == "Stopped"
    assert d["TrainingJobStatusCounters"]["Stopped"] == 2


def test_a_tuning_job_whose_children_all_fail_raises(session):
    t = tuner(session, scenario="algorithm-error", max_jobs=3, max_parallel_jobs=3)
    with pytest.raises(UnexpectedStatusException) as e:
        t.fit({"train": "s3://my-bucket/train"}, include_cls_metadata=False,
              job_name="sdk-tuner-fail")
    assert "No training job succeeded after 3 attempts" in str(e.value)
    with pytest.raises(Exception) as e:
        t.best_training_job()
    assert "Best training job not available" in str(e.value)


def test_several_estimators_with_create_and_attach(session):
    ests = {"big": estimator(session), "small": estimator(session, image=IMAGE + "-small")}
    t = HyperparameterTuner.create(
        estimator_dict=ests,
        objective_metric_name_dict={"big": "validation:accuracy", "small": "validation:accuracy"},
        hyperparameter_ranges_dict={"big": {"num_layers": IntegerParameter(4, 16)},
                                    "small": {"num_layers": IntegerParameter(1, 4)}},
        metric_definitions_dict={"big": [ACC], "small": [ACC]},
        strategy="Random", max_jobs=4, max_parallel_jobs=2)
    t.fit(inputs={"big": {"train": "s3://my-bucket/train"},
                  "small": {"train": "s3://my-bucket/train"}}, include_cls_metadata={},
          job_name="sdk-tuner-multi")
    df = t.analytics().dataframe()
    assert sorted(df["TrainingJobDefinitionName"]) == ["big", "big", "small", "small"]
    attached = HyperparameterTuner.attach(t.latest_tuning_job.name, sagemaker_session=session)
    assert sorted(attached.estimator_dict) == ["big", "small"]
    best = t.best_training_job()
    assert attached.best_training_job() == best
