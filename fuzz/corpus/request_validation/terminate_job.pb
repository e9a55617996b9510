

biz2Nops