package protoo_test

import (
	"fmt"

	"github.com/switchboard/switchboard/protoo"
)

func ExampleParse() {
	m, err := protoo.Parse([]byte(`{"request":true,"id":8.5,"method":"echo","data":null}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	req := m.(*protoo.Request)
	fmt.Printf("%s %s %s\n", req.Method, req.ID, req.Data)
	fmt.Printf("%s\n", protoo.AppendResponse(nil, req.ID, req.Data))
	fmt.Printf("%s\n", protoo.AppendError(nil, req.ID, protoo.CodeNotFound, "no such name"))

	_, err = protoo.Parse([]byte(`null`))
	fmt.Println(err)
	// Output:
	// echo 8.5 {}
	// {"response":true,"id":8.5,"ok":true,"data":{}}
	// {"response":true,"id":8.5,"ok":false,"errorCode":404,"errorReason":"no such name"}
	// protoo: invalid message: not a JSON object
}
