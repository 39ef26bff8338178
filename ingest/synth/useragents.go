package synth

// User agents. Owner tooling runs on macOS; attacker tooling on Kali Linux, so
// the `kali` fingerprint from the reference appears in its user agents.
const (
	ownerCLIPrefix = "aws-cli/2.22.4 md/awscrt#0.22.0 ua/2.0 os/macos#24.1.0 md/arch#arm64 lang/python#3.12.6 md/pyimpl#CPython cfg/retry-mode#standard md/installer#source md/prompt#off md/command#"
	ownerBoto3     = "Boto3/1.35.54 md/Botocore#1.35.54 ua/2.0 os/macos#24.1.0 md/arch#arm64 lang/python#3.12.6 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.35.54"
	ownerBrowser   = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36"
	s3ConsoleUA    = "[S3Console/0.4, aws-internal/3 aws-sdk-java/1.12.750 Linux/5.10.227-198.884.amzn2int.x86_64 OpenJDK_64-Bit_Server_VM/25.412-b09 java/1.8.0_412 vendor/Oracle_Corporation cfg/retry-mode/standard]"

	scannerUA      = "TruffleHog"
	kaliCLIPrefix  = "aws-cli/2.15.30 md/awscrt#0.19.19 ua/2.0 os/linux#6.6.9-amd64 md/arch#x86_64 lang/python#3.11.8 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/distrib#kali.2024 md/prompt#off md/command#"
	kaliBoto3      = "Boto3/1.28.85 Python/3.11.8 Linux/6.5.0-kali3-amd64 Botocore/1.31.85"
	kaliBoto3New   = "Boto3/1.34.144 md/Botocore#1.34.144 ua/2.0 os/linux#6.8.11-kali2-amd64 md/arch#x86_64 lang/python#3.11.9 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.144"
	attackerBrowse = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"

	ssmAgentUA = "aws-sdk-go/1.55.5 (go1.22.7; linux; amd64) amazon-ssm-agent/3.3.987.0"
	// AWS's own agent, as on its compromised-key quarantine records
	awsInternalUA = "aws-internal/3 aws-sdk-java/1.12.788 Linux/5.10.236-208.928.amzn2int.x86_64 OpenJDK_64-Bit_Server_VM/25.452-b10 java/1.8.0_452 vendor/Oracle_Corporation cfg/retry-mode/standard"
)
