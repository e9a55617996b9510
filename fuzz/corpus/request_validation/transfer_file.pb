

biz2-
/data/app/1.log
/data/app/2.log
groot 
C:\logs\a.txt	192.0.2.7 /tmp/collected/"
ef8ê@
HPZcollect logs