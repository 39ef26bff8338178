-- creates_resource(event_source, event_name) on Trino (the macro queries/macros.sql defines for
-- DuckDB, same answers): an inline function, included (the name in double braces) in a Trino
-- text's WITH of functions. True for the calls whose resources left-running follows
-- (instances, spot requests, key pairs, security groups, ECS clusters, services and tasks,
-- Lambda functions, Auto Scaling groups, IAM users, keys, passwords, roles).
FUNCTION creates_resource(event_source varchar, event_name varchar)
    RETURNS boolean
    RETURN ((event_source = 'ec2.amazonaws.com' AND event_name IN ('RunInstances', 'RequestSpotInstances',
                'CreateKeyPair', 'ImportKeyPair', 'CreateSecurityGroup'))
        OR (event_source = 'ecs.amazonaws.com' AND event_name IN ('CreateCluster', 'CreateService', 'RunTask', 'StartTask'))
        OR (event_source = 'lambda.amazonaws.com' AND event_name LIKE 'CreateFunction%')
        OR (event_source = 'autoscaling.amazonaws.com' AND event_name = 'CreateAutoScalingGroup')
        OR (event_source = 'iam.amazonaws.com' AND event_name IN ('CreateUser', 'CreateAccessKey', 'CreateLoginProfile', 'CreateRole')))
