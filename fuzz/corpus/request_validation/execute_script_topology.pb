
2J&	2001:db8::9group-1"
moduleR
任务 ✓pM