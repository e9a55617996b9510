

biz2Nadmin