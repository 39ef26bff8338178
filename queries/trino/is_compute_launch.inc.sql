-- is_compute_launch(src, name) on Trino (the macro of queries/macros.sql, same answers): an
-- inline function, written after a WITH: WITH FUNCTION ..., FUNCTION ... WITH ctes SELECT ...
FUNCTION is_compute_launch(src varchar, name varchar) RETURNS boolean
RETURN ((src = 'ec2.amazonaws.com' AND name IN ('RunInstances', 'CreateFleet', 'RequestSpotInstances', 'RunScheduledInstances'))
    OR (src = 'ecs.amazonaws.com' AND name IN ('RunTask', 'StartTask', 'CreateService'))
    OR (src = 'lambda.amazonaws.com' AND name LIKE 'CreateFunction%')
    OR (src = 'batch.amazonaws.com' AND name = 'SubmitJob')
    OR (src = 'sagemaker.amazonaws.com' AND name IN ('CreateNotebookInstance', 'CreateTrainingJob', 'CreateProcessingJob',
                                                     'CreateTransformJob'))
    OR (src = 'lightsail.amazonaws.com' AND name IN ('CreateInstances', 'CreateInstancesFromSnapshot'))
    OR (src = 'eks.amazonaws.com' AND name = 'CreateCluster'))
