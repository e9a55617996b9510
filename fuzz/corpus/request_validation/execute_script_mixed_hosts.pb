
2Write-Output 1J
	192.0.2.1